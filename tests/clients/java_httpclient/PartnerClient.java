// The partner guide's flow with java.net.http.HttpClient (default settings), against a running sandbox.
//
// Reads PARTNER_API_URL, PARTNER_ID, PARTNER_TOKEN, PARTNER_BAD_TOKEN and WORKSPACE_NAME; prints one
// line per step and exits 1 at the first failed check. JDK only: the JSON answers are read with the
// small parser at the end of this file.

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

public final class PartnerClient {

    static final class CheckFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CheckFailed(String message) {
            super(message);
        }
    }

    private final HttpClient http = HttpClient.newHttpClient();  // defaults: HTTP/2 preferred
    private final String baseUrl;
    private final String partnerId;
    private final String token;

    PartnerClient(String baseUrl, String partnerId, String token) {
        this.baseUrl = baseUrl;
        this.partnerId = partnerId;
        this.token = token;
    }

    /** One request; a non-null jsonBody goes as the JSON body, null sends none. */
    HttpResponse<String> send(String method, String path, String jsonBody, String bearer)
            throws IOException, InterruptedException {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + bearer)
                .header("X-TL-Partner-Id", partnerId);
        if (jsonBody != null) {
            builder.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(jsonBody));
        } else {
            builder.method(method, HttpRequest.BodyPublishers.noBody());
        }
        return http.send(builder.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> send(String method, String path, String jsonBody) throws IOException, InterruptedException {
        return send(method, path, jsonBody, token);
    }

    // --- checks -------------------------------------------------------------------------------------

    static void check(boolean condition, String message) {
        if (!condition) {
            throw new CheckFailed(message);
        }
    }

    static void ok(String step, String detail) {
        System.out.println("ok " + step + ": " + detail);
    }

    static String mediaType(HttpResponse<String> response) {
        return response.headers().firstValue("content-type").orElse("").split(";")[0].trim().toLowerCase(Locale.ROOT);
    }

    static Object parse(String step, HttpResponse<String> response) {
        try {
            return Json.parse(response.body());
        } catch (IllegalArgumentException e) {
            throw new CheckFailed(step + ": the body is not JSON (" + e.getMessage() + "): " + response.body());
        }
    }

    /** The answer has this status, is JSON with X-TL-API-Version: v1 (and Cache-Control: no-store when it
     * holds a secret); returns its body, a JSON object. */
    static Map<String, Object> success(String step, HttpResponse<String> response, int status, boolean noStore) {
        check(response.statusCode() == status,
                step + ": status " + response.statusCode() + ", expected " + status + ": " + response.body());
        check(mediaType(response).equals("application/json"),
                step + ": content-type " + response.headers().firstValue("content-type"));
        check(response.headers().firstValue("x-tl-api-version").equals(java.util.Optional.of("v1")),
                step + ": X-TL-API-Version " + response.headers().firstValue("x-tl-api-version"));
        if (noStore) {
            check(response.headers().firstValue("cache-control").equals(java.util.Optional.of("no-store")),
                    step + ": Cache-Control " + response.headers().firstValue("cache-control"));
        }
        return object(step, parse(step, response), "the body");
    }

    /** The answer is the PartnerAPIError envelope with this status and code; returns its description. */
    static String failure(String step, HttpResponse<String> response, int status, String code) {
        check(response.statusCode() == status,
                step + ": status " + response.statusCode() + ", expected " + status + ": " + response.body());
        check(mediaType(response).equals("application/json"),
                step + ": content-type " + response.headers().firstValue("content-type"));
        Map<String, Object> body = object(step, parse(step, response), "the body");
        check(body.keySet().equals(Set.of("error", "status", "description")),
                step + ": not the error envelope: " + response.body());
        check(code.equals(body.get("error")), step + ": error " + body.get("error") + ", expected " + code);
        check(Long.valueOf(status).equals(body.get("status")), step + ": status field " + body.get("status"));
        String description = string(step, body, "description");
        check(!description.isEmpty(), step + ": empty description");
        return description;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> object(String step, Object value, String what) {
        check(value instanceof Map, step + ": " + what + " is not a JSON object: " + value);
        return (Map<String, Object>) value;
    }

    @SuppressWarnings("unchecked")
    static List<Object> array(String step, Map<String, Object> body, String key) {
        check(body.get(key) instanceof List, step + ": " + key + " " + body.get(key) + " is not an array");
        return (List<Object>) body.get(key);
    }

    static String string(String step, Map<String, Object> body, String key) {
        check(body.get(key) instanceof String, step + ": " + key + " " + body.get(key) + " is not a string");
        return (String) body.get(key);
    }

    static long integer(String step, Map<String, Object> body, String key) {
        check(body.get(key) instanceof Long, step + ": " + key + " " + body.get(key) + " is not an integer");
        return (Long) body.get(key);
    }

    static boolean bool(String step, Map<String, Object> body, String key) {
        check(body.get(key) instanceof Boolean, step + ": " + key + " " + body.get(key) + " is not a boolean");
        return (Boolean) body.get(key);
    }

    static void sameWorkspace(String step, Map<String, Object> body, String workspace) {
        check(workspace.equals(string(step, body, "workspace_id")), step + ": workspace_id " + body.get("workspace_id"));
    }

    static Instant timestamp(String step, Map<String, Object> body, String key) {
        String value = string(step, body, key);
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException e) {
            throw new CheckFailed(step + ": " + key + " " + value + " is not RFC 3339");
        }
    }

    // --- the flow -----------------------------------------------------------------------------------

    void run(String name, String badToken) throws IOException, InterruptedException {
        String expectedId = name.toLowerCase(Locale.ROOT);
        expectedId = expectedId.substring(0, Math.min(30, expectedId.length()));

        String step = "create-workspace";
        Map<String, Object> body = success(step, send("POST", "/workspaces",
                "{\"display_name\": " + Json.quote(name) + ", \"seats_purchased\": 3}"), 201, false);
        String workspace = string(step, body, "workspace_id");
        check(workspace.equals(expectedId), step + ": workspace_id " + workspace + ", expected " + expectedId);
        check(name.equals(string(step, body, "display_name")), step + ": display_name " + body.get("display_name"));
        integer(step, body, "plan_id");
        check(integer(step, body, "seats_total") == 3, step + ": seats_total " + body.get("seats_total"));
        check(integer(step, body, "seats_available") == 2, step + ": seats_available " + body.get("seats_available"));
        long owner = integer(step, body, "owner_user_id");
        ok(step, "201 " + workspace + ", owner " + owner + ", 3 seats, 2 free");

        step = "create-users";
        body = success(step, send("POST", "/workspaces/" + workspace + "/users", "{\"count\": 2}"), 201, false);
        sameWorkspace(step, body, workspace);
        check(integer(step, body, "seats_total") == 3, step + ": seats_total " + body.get("seats_total"));
        check(integer(step, body, "seats_available") == 0, step + ": seats_available " + body.get("seats_available"));
        List<Object> users = array(step, body, "users");
        check(users.size() == 2, step + ": users " + users);
        Set<Long> ids = new TreeSet<>(List.of(owner));
        List<Long> userIds = new ArrayList<>();
        for (Object item : users) {
            Map<String, Object> user = object(step, item, "a user");
            long id = integer(step, user, "user_id");
            check(ids.add(id), step + ": user id " + id + " is not distinct");
            userIds.add(id);
            string(step, user, "display_name");
            check(string(step, user, "email").contains("@"), step + ": email of " + user);
            check("agent".equals(user.get("role")), step + ": role of " + user);
            check("active".equals(string(step, user, "status")), step + ": status of " + user);
            timestamp(step, user, "created_at");
        }
        long first = userIds.get(0);
        ok(step, "201 users " + userIds.get(0) + " and " + userIds.get(1) + ", 0 seats free");

        String qrPath = "/workspaces/" + workspace + "/users/" + first + "/qr";
        step = "qr-with-body";
        body = success(step, send("POST", qrPath, "{\"expires_in_hours\": 2}"), 200, true);
        sameWorkspace(step, body, workspace);
        check(integer(step, body, "user_id") == first, step + ": user_id " + body.get("user_id"));
        String firstLink = string(step, body, "qr_link");
        check(firstLink.startsWith("http"), step + ": qr_link " + firstLink);
        Instant shortExpiry = timestamp(step, body, "expires_at");
        check(!bool(step, body, "whatsapp_disconnected"), step + ": whatsapp_disconnected is true");
        check(!bool(step, body, "previous_qr_revoked"), step + ": previous_qr_revoked is true");
        ok(step, "200 link for user " + first + " expiring " + body.get("expires_at"));

        step = "qr-without-body";
        body = success(step, send("POST", qrPath, null), 200, true);
        sameWorkspace(step, body, workspace);
        check(integer(step, body, "user_id") == first, step + ": user_id " + body.get("user_id"));
        String link = string(step, body, "qr_link");
        check(link.startsWith("http"), step + ": qr_link " + link);
        check(!link.equals(firstLink), step + ": the same qr_link as before");
        // 24 hours (the default) against the 2 hours asked for: 22 hours apart, give or take the seconds between.
        Duration gap = Duration.between(shortExpiry, timestamp(step, body, "expires_at"));
        check(gap.minus(Duration.ofHours(22)).abs().compareTo(Duration.ofMinutes(5)) <= 0,
                step + ": expires_at " + body.get("expires_at") + " is " + gap
                        + " after the 2-hour link's, expected 22 h");
        check(!bool(step, body, "whatsapp_disconnected"), step + ": whatsapp_disconnected is true");
        check(bool(step, body, "previous_qr_revoked"), step + ": previous_qr_revoked is false");
        ok(step, "200 new link for user " + first + " expiring " + body.get("expires_at") + ", previous revoked");

        step = "get-workspace";
        body = success(step, send("GET", "/workspaces/" + workspace, null), 200, true);
        sameWorkspace(step, body, workspace);
        check(name.equals(string(step, body, "display_name")), step + ": display_name " + body.get("display_name"));
        Map<String, Object> seats = object(step, body.get("seats"), "seats");
        check(integer(step, seats, "total") == 3 && integer(step, seats, "used") == 3, step + ": seats " + seats);
        for (String quota : List.of("messages_quota", "api_calls_quota")) {
            Map<String, Object> value = object(step, body.get(quota), quota);
            integer(step, value, "total");
            integer(step, value, "used");
        }
        object(step, body.get("non_recurring_quota"), "non_recurring_quota");
        Set<Long> listed = new TreeSet<>();
        for (Object item : array(step, body, "users")) {
            listed.add(integer(step, object(step, item, "a user"), "user_id"));
        }
        check(listed.equals(ids), step + ": users " + listed + ", expected " + ids);
        List<Object> links = array(step, body, "qr_links");
        check(links.size() == 1, step + ": qr_links " + links + ", expected the one active link");
        Map<String, Object> active = object(step, links.get(0), "a QR link");
        check(link.equals(active.get("qr_link")) && Long.valueOf(first).equals(active.get("user_id")),
                step + ": qr_links " + links + ", expected user " + first + "'s link " + link);
        timestamp(step, active, "expires_at");
        ok(step, "200 3 users, seats 3/3, 1 active link");

        step = "disconnect";
        String disconnectPath = "/workspaces/" + workspace + "/users/" + first + "/whatsapp/disconnect";
        body = success(step, send("POST", disconnectPath, null), 200, false);
        sameWorkspace(step, body, workspace);
        check(integer(step, body, "user_id") == first, step + ": user_id " + body.get("user_id"));
        check(!bool(step, body, "disconnected"), step + ": disconnected is true");
        String description = string(step, body, "description");
        check(!description.isEmpty(), step + ": empty description");
        ok(step, "200 disconnected=false (" + description + ")");

        String tokenPath = "/workspaces/" + workspace + "/api-token";
        step = "token-get";
        body = success(step, send("GET", tokenPath, null), 200, true);
        sameWorkspace(step, body, workspace);
        String oldToken = string(step, body, "token");
        check(!oldToken.isEmpty(), step + ": empty token");
        ok(step, "200 a token");

        step = "token-rotate";
        body = success(step, send("POST", tokenPath, null), 201, true);
        sameWorkspace(step, body, workspace);
        String newToken = string(step, body, "token");
        check(!newToken.isEmpty() && !newToken.equals(oldToken), step + ": the token did not change");
        timestamp(step, body, "rotated_at");
        ok(step, "201 a new token, rotated at " + body.get("rotated_at"));

        step = "token-get-after-rotate";
        body = success(step, send("GET", tokenPath, null), 200, true);
        check(newToken.equals(string(step, body, "token")), step + ": token is not the rotated one");
        ok(step, "200 the rotated token");

        step = "error-400";
        String invalid = "{\"display_name\": \"Not Valid!\", \"seats_purchased\": 1}";
        description = failure(step, send("POST", "/workspaces", invalid), 400, "invalid_request");
        check(description.contains("display_name"), step + ": the description does not name the field: " + description);
        ok(step, description);

        step = "error-401";
        HttpResponse<String> response = send("GET", "/workspaces/" + workspace, null, badToken);
        description = failure(step, response, 401, "invalid_signature");
        check(response.headers().firstValue("www-authenticate").orElse("").startsWith("Bearer "),
                step + ": WWW-Authenticate " + response.headers().firstValue("www-authenticate"));
        ok(step, description);

        step = "error-404";
        description = failure(step, send("GET", "/workspaces/" + workspace + "-missing", null), 404,
                "workspace_not_found");
        ok(step, description);

        step = "error-409";
        description = failure(step, send("POST", "/workspaces",
                "{\"display_name\": " + Json.quote(name) + ", \"seats_purchased\": 3}"), 409,
                "workspace_creation_failed");
        ok(step, description);
    }

    public static void main(String[] args) {
        Map<String, String> env = new LinkedHashMap<>();
        List<String> names = List.of("PARTNER_API_URL", "PARTNER_ID", "PARTNER_TOKEN", "PARTNER_BAD_TOKEN",
                "WORKSPACE_NAME");
        for (String key : names) {
            String value = System.getenv(key);
            if (value == null || value.isEmpty()) {
                System.err.println("FAIL: environment variable " + key + " is not set");
                System.exit(2);
            }
            env.put(key, value);
        }
        PartnerClient client = new PartnerClient(env.get("PARTNER_API_URL"), env.get("PARTNER_ID"),
                env.get("PARTNER_TOKEN"));
        try {
            client.run(env.get("WORKSPACE_NAME"), env.get("PARTNER_BAD_TOKEN"));
        } catch (CheckFailed failure) {
            System.err.println("FAIL " + failure.getMessage());
            System.exit(1);
        } catch (IOException | InterruptedException failure) {
            System.err.println("FAIL the request failed: " + failure);
            System.exit(1);
        }
        System.out.println("all steps passed");
    }

    /** Just enough JSON (RFC 8259) to read the answers: objects, arrays, strings, integers, numbers,
     * true, false and null. Integers are Long, other numbers Double. */
    static final class Json {
        private final String text;
        private int at;

        private Json(String text) {
            this.text = text;
        }

        static Object parse(String text) {
            Json parser = new Json(text);
            Object value = parser.value();
            parser.whitespace();
            if (parser.at != text.length()) {
                throw parser.error("trailing characters");
            }
            return value;
        }

        static String quote(String value) {
            StringBuilder out = new StringBuilder("\"");
            for (char c : value.toCharArray()) {
                if (c == '"' || c == '\\') {
                    out.append('\\').append(c);
                } else if (c < 0x20) {
                    out.append(String.format("\\u%04x", (int) c));
                } else {
                    out.append(c);
                }
            }
            return out.append('"').toString();
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException(what + " at offset " + at);
        }

        private void whitespace() {
            while (at < text.length() && " \t\r\n".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
        }

        private void expect(char c) {
            whitespace();
            if (at >= text.length() || text.charAt(at) != c) {
                throw error("expected '" + c + "'");
            }
            at++;
        }

        private boolean peek(char c) {
            whitespace();
            return at < text.length() && text.charAt(at) == c;
        }

        private Object value() {
            whitespace();
            if (at >= text.length()) {
                throw error("unexpected end");
            }
            char c = text.charAt(at);
            if (c == '{') {
                return object();
            } else if (c == '[') {
                return array();
            } else if (c == '"') {
                return string();
            } else if (text.startsWith("true", at)) {
                at += 4;
                return Boolean.TRUE;
            } else if (text.startsWith("false", at)) {
                at += 5;
                return Boolean.FALSE;
            } else if (text.startsWith("null", at)) {
                at += 4;
                return null;
            }
            return number();
        }

        private Map<String, Object> object() {
            Map<String, Object> map = new LinkedHashMap<>();
            expect('{');
            if (peek('}')) {
                at++;
                return map;
            }
            do {
                whitespace();
                String key = string();
                expect(':');
                if (map.containsKey(key)) {
                    throw error("duplicate key " + key);
                }
                map.put(key, value());
            } while (next('}'));
            return map;
        }

        private List<Object> array() {
            List<Object> list = new ArrayList<>();
            expect('[');
            if (peek(']')) {
                at++;
                return list;
            }
            do {
                list.add(value());
            } while (next(']'));
            return list;
        }

        /** After a member: true on ',' (another follows), false on the closing character. */
        private boolean next(char close) {
            whitespace();
            if (at < text.length() && text.charAt(at) == ',') {
                at++;
                return true;
            }
            expect(close);
            return false;
        }

        private String string() {
            if (at >= text.length() || text.charAt(at) != '"') {
                throw error("expected a string");
            }
            at++;
            StringBuilder out = new StringBuilder();
            while (true) {
                if (at >= text.length()) {
                    throw error("unterminated string");
                }
                char c = text.charAt(at++);
                if (c == '"') {
                    return out.toString();
                } else if (c == '\\') {
                    if (at >= text.length()) {
                        throw error("unterminated escape");
                    }
                    char e = text.charAt(at++);
                    switch (e) {
                        case '"', '\\', '/' -> out.append(e);
                        case 'b' -> out.append('\b');
                        case 'f' -> out.append('\f');
                        case 'n' -> out.append('\n');
                        case 'r' -> out.append('\r');
                        case 't' -> out.append('\t');
                        case 'u' -> {
                            if (at + 4 > text.length()) {
                                throw error("short \\u escape");
                            }
                            out.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                            at += 4;
                        }
                        default -> throw error("bad escape \\" + e);
                    }
                } else if (c < 0x20) {
                    throw error("control character in a string");
                } else {
                    out.append(c);
                }
            }
        }

        private Object number() {
            int start = at;
            if (at < text.length() && text.charAt(at) == '-') {
                at++;
            }
            while (at < text.length() && "0123456789.eE+-".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
            String literal = text.substring(start, at);
            if (!literal.matches("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?")) {
                throw error("bad value '" + literal + "'");
            }
            if (literal.matches("-?[0-9]+")) {
                try {
                    return Long.parseLong(literal);
                } catch (NumberFormatException e) {
                    return Double.parseDouble(literal);
                }
            }
            return Double.parseDouble(literal);
        }
    }
}
