// The partner guide's flow with Go's net/http and encoding/json, against a running sandbox.
//
// Reads PARTNER_API_URL, PARTNER_ID, PARTNER_TOKEN, PARTNER_BAD_TOKEN and WORKSPACE_NAME; prints one
// line per step and exits 1 at the first failed check. Standard library only.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"mime"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"
)

type workspace struct {
	WorkspaceID    string `json:"workspace_id"`
	DisplayName    string `json:"display_name"`
	PlanID         int64  `json:"plan_id"`
	SeatsTotal     int64  `json:"seats_total"`
	SeatsAvailable int64  `json:"seats_available"`
	OwnerUserID    int64  `json:"owner_user_id"`
}

type user struct {
	UserID      int64  `json:"user_id"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Email       string `json:"email"`
	Status      string `json:"status"`
	CreatedAt   string `json:"created_at"`
}

type usersResponse struct {
	WorkspaceID    string `json:"workspace_id"`
	SeatsTotal     int64  `json:"seats_total"`
	SeatsAvailable int64  `json:"seats_available"`
	Users          []user `json:"users"`
}

type qrResponse struct {
	WorkspaceID          string `json:"workspace_id"`
	UserID               int64  `json:"user_id"`
	QRLink               string `json:"qr_link"`
	ExpiresAt            string `json:"expires_at"`
	WhatsappDisconnected bool   `json:"whatsapp_disconnected"`
	PreviousQRRevoked    bool   `json:"previous_qr_revoked"`
}

// quota's fields are pointers: a missing one stays nil rather than reading as 0.
type quota struct {
	Total *int64 `json:"total"`
	Used  *int64 `json:"used"`
}

func (q quota) complete() bool { return q.Total != nil && q.Used != nil }

func (q quota) String() string {
	if !q.complete() {
		return "incomplete quota"
	}
	return fmt.Sprintf("%d/%d used", *q.Used, *q.Total)
}

type qrLink struct {
	QRLink    string `json:"qr_link"`
	UserID    int64  `json:"user_id"`
	ExpiresAt string `json:"expires_at"`
}

type workspaceDetails struct {
	WorkspaceID       string         `json:"workspace_id"`
	DisplayName       string         `json:"display_name"`
	Seats             quota          `json:"seats"`
	MessagesQuota     quota          `json:"messages_quota"`
	APICallsQuota     quota          `json:"api_calls_quota"`
	NonRecurringQuota map[string]any `json:"non_recurring_quota"`
	Users             []user         `json:"users"`
	QRLinks           []qrLink       `json:"qr_links"`
}

type disconnectResponse struct {
	WorkspaceID  string `json:"workspace_id"`
	UserID       int64  `json:"user_id"`
	Disconnected bool   `json:"disconnected"`
	Description  string `json:"description"`
}

type tokenResponse struct {
	WorkspaceID string `json:"workspace_id"`
	Token       string `json:"token"`
	RotatedAt   string `json:"rotated_at"`
}

type apiError struct {
	Error       string `json:"error"`
	Status      int    `json:"status"`
	Description string `json:"description"`
}

// response is one answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

type client struct {
	baseURL, partnerID, token string
	http                      *http.Client
}

// do sends one request; a non-nil payload goes as a JSON body.
func (c *client) do(method, path string, payload any, token string) response {
	var body io.Reader
	if payload != nil {
		encoded, err := json.Marshal(payload)
		if err != nil {
			log.Fatalf("FAIL encoding %v: %v", payload, err)
		}
		body = bytes.NewReader(encoded)
	}
	req, err := http.NewRequest(method, c.baseURL+path, body)
	if err != nil {
		log.Fatalf("FAIL building %s %s: %v", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-TL-Partner-Id", c.partnerID)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		log.Fatalf("FAIL the request %s %s failed: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatalf("FAIL reading the answer to %s %s: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func check(condition bool, format string, args ...any) {
	if !condition {
		log.Fatalf("FAIL "+format, args...)
	}
}

func ok(step, format string, args ...any) {
	fmt.Printf("ok %s: %s\n", step, fmt.Sprintf(format, args...))
}

func mediaType(r response) string {
	mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	return mt
}

// decode reads the body, a JSON object holding at least the keys given, into out.
func decode(step string, r response, out any, required ...string) {
	var keys map[string]json.RawMessage
	check(json.Unmarshal(r.body, &keys) == nil, "%s: the body is not a JSON object: %s", step, r.body)
	for _, key := range required {
		_, present := keys[key]
		check(present, "%s: no %q in %s", step, key, r.body)
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		log.Fatalf("FAIL %s: the body does not decode: %v: %s", step, err, r.body)
	}
}

// success checks the status, JSON, X-TL-API-Version: v1 (and Cache-Control: no-store when the answer
// holds a secret) and decodes the body into out.
func success(step string, r response, status int, noStore bool, out any, required ...string) {
	check(r.status == status, "%s: status %d, expected %d: %s", step, r.status, status, r.body)
	check(mediaType(r) == "application/json", "%s: content-type %q", step, r.header.Get("Content-Type"))
	check(r.header.Get("X-TL-API-Version") == "v1", "%s: X-TL-API-Version %q", step, r.header.Get("X-TL-API-Version"))
	if noStore {
		check(r.header.Get("Cache-Control") == "no-store", "%s: Cache-Control %q", step, r.header.Get("Cache-Control"))
	}
	decode(step, r, out, required...)
}

// failure checks that the answer is the PartnerAPIError envelope with this status and code.
func failure(step string, r response, status int, code string) apiError {
	check(r.status == status, "%s: status %d, expected %d: %s", step, r.status, status, r.body)
	check(mediaType(r) == "application/json", "%s: content-type %q", step, r.header.Get("Content-Type"))
	var keys map[string]json.RawMessage
	check(json.Unmarshal(r.body, &keys) == nil, "%s: the body is not a JSON object: %s", step, r.body)
	names := make([]string, 0, len(keys))
	for key := range keys {
		names = append(names, key)
	}
	sort.Strings(names)
	check(strings.Join(names, ",") == "description,error,status", "%s: not the error envelope: %s", step, r.body)
	var envelope apiError
	decode(step, r, &envelope)
	check(envelope.Error == code, "%s: error %q, expected %q", step, envelope.Error, code)
	check(envelope.Status == status, "%s: status field %d", step, envelope.Status)
	check(envelope.Description != "", "%s: empty description", step)
	return envelope
}

func timestamp(step, value string) time.Time {
	t, err := time.Parse(time.RFC3339, value)
	check(err == nil, "%s: timestamp %q is not RFC 3339", step, value)
	return t
}

func main() {
	log.SetFlags(0)
	env := map[string]string{}
	for _, key := range []string{"PARTNER_API_URL", "PARTNER_ID", "PARTNER_TOKEN", "PARTNER_BAD_TOKEN", "WORKSPACE_NAME"} {
		env[key] = os.Getenv(key)
		if env[key] == "" {
			fmt.Fprintf(os.Stderr, "FAIL: environment variable %s is not set\n", key)
			os.Exit(2)
		}
	}
	c := &client{baseURL: env["PARTNER_API_URL"], partnerID: env["PARTNER_ID"], token: env["PARTNER_TOKEN"],
		http: &http.Client{Timeout: 30 * time.Second}}
	name := env["WORKSPACE_NAME"]
	expectedID := strings.ToLower(name)
	if len(expectedID) > 30 {
		expectedID = expectedID[:30]
	}

	step := "create-workspace"
	var created workspace
	success(step, c.do("POST", "/workspaces", map[string]any{"display_name": name, "seats_purchased": 3}, c.token),
		201, false, &created, "workspace_id", "display_name", "plan_id", "seats_total", "seats_available", "owner_user_id")
	check(created.WorkspaceID == expectedID, "%s: workspace_id %q", step, created.WorkspaceID)
	check(created.DisplayName == name, "%s: display_name %q", step, created.DisplayName)
	check(created.SeatsTotal == 3, "%s: seats_total %d", step, created.SeatsTotal)
	check(created.SeatsAvailable == 2, "%s: seats_available %d", step, created.SeatsAvailable)
	ws, owner := created.WorkspaceID, created.OwnerUserID
	ok(step, "201 %s, owner %d, 3 seats, 2 free", ws, owner)

	step = "create-users"
	var added usersResponse
	success(step, c.do("POST", "/workspaces/"+ws+"/users", map[string]any{"count": 2}, c.token), 201, false, &added,
		"workspace_id", "seats_total", "seats_available", "users")
	check(added.WorkspaceID == ws, "%s: workspace_id %q", step, added.WorkspaceID)
	check(added.SeatsTotal == 3, "%s: seats_total %d", step, added.SeatsTotal)
	check(added.SeatsAvailable == 0, "%s: seats_available %d", step, added.SeatsAvailable)
	check(len(added.Users) == 2, "%s: %d users: %+v", step, len(added.Users), added.Users)
	seen := map[int64]bool{owner: true}
	for _, u := range added.Users {
		check(u.UserID != 0 && !seen[u.UserID], "%s: user id %d is missing or not distinct", step, u.UserID)
		seen[u.UserID] = true
		check(u.DisplayName != "", "%s: display_name of %+v", step, u)
		check(strings.Contains(u.Email, "@"), "%s: email of %+v", step, u)
		check(u.Role == "agent", "%s: role of %+v", step, u)
		check(u.Status == "active", "%s: status of %+v", step, u)
		timestamp(step, u.CreatedAt)
	}
	first := added.Users[0].UserID
	ok(step, "201 users %d and %d, 0 seats free", added.Users[0].UserID, added.Users[1].UserID)

	qrRequired := []string{"workspace_id", "user_id", "qr_link", "expires_at", "whatsapp_disconnected",
		"previous_qr_revoked"}
	qrPath := fmt.Sprintf("/workspaces/%s/users/%d/qr", ws, first)

	step = "qr-with-body"
	var short qrResponse
	success(step, c.do("POST", qrPath, map[string]any{"expires_in_hours": 2}, c.token), 200, true, &short, qrRequired...)
	check(short.WorkspaceID == ws, "%s: workspace_id %q", step, short.WorkspaceID)
	check(short.UserID == first, "%s: user_id %d", step, short.UserID)
	check(strings.HasPrefix(short.QRLink, "http"), "%s: qr_link %q", step, short.QRLink)
	shortExpiry := timestamp(step, short.ExpiresAt)
	check(!short.WhatsappDisconnected, "%s: whatsapp_disconnected is true", step)
	check(!short.PreviousQRRevoked, "%s: previous_qr_revoked is true", step)
	ok(step, "200 link for user %d expiring %s", first, short.ExpiresAt)

	step = "qr-without-body"
	var renewed qrResponse
	success(step, c.do("POST", qrPath, nil, c.token), 200, true, &renewed, qrRequired...)
	check(renewed.WorkspaceID == ws, "%s: workspace_id %q", step, renewed.WorkspaceID)
	check(renewed.UserID == first, "%s: user_id %d", step, renewed.UserID)
	check(strings.HasPrefix(renewed.QRLink, "http"), "%s: qr_link %q", step, renewed.QRLink)
	check(renewed.QRLink != short.QRLink, "%s: the same qr_link as before", step)
	// 24 hours (the default) against the 2 hours asked for: 22 hours apart, give or take the seconds between.
	gap := timestamp(step, renewed.ExpiresAt).Sub(shortExpiry)
	check((gap-22*time.Hour).Abs() <= 5*time.Minute,
		"%s: expires_at %s is %s after the 2-hour link's, expected 22h", step, renewed.ExpiresAt, gap)
	check(!renewed.WhatsappDisconnected, "%s: whatsapp_disconnected is true", step)
	check(renewed.PreviousQRRevoked, "%s: previous_qr_revoked is false", step)
	ok(step, "200 new link for user %d expiring %s, previous revoked", first, renewed.ExpiresAt)

	step = "get-workspace"
	var details workspaceDetails
	success(step, c.do("GET", "/workspaces/"+ws, nil, c.token), 200, true, &details, "workspace_id", "display_name",
		"seats", "messages_quota", "api_calls_quota", "non_recurring_quota", "users")
	check(details.WorkspaceID == ws, "%s: workspace_id %q", step, details.WorkspaceID)
	check(details.DisplayName == name, "%s: display_name %q", step, details.DisplayName)
	check(details.Seats.complete() && *details.Seats.Total == 3 && *details.Seats.Used == 3, "%s: seats %s", step,
		details.Seats)
	check(details.MessagesQuota.complete(), "%s: messages_quota %s", step, details.MessagesQuota)
	check(details.APICallsQuota.complete(), "%s: api_calls_quota %s", step, details.APICallsQuota)
	check(details.NonRecurringQuota != nil, "%s: non_recurring_quota is null", step)
	var ids []int64
	for _, u := range details.Users {
		ids = append(ids, u.UserID)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	want := []int64{owner, added.Users[0].UserID, added.Users[1].UserID}
	sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
	check(fmt.Sprint(ids) == fmt.Sprint(want), "%s: user ids %v, expected %v", step, ids, want)
	check(len(details.QRLinks) == 1, "%s: qr_links %+v, expected the one active link", step, details.QRLinks)
	check(details.QRLinks[0].QRLink == renewed.QRLink && details.QRLinks[0].UserID == first,
		"%s: qr_links %+v, expected user %d's link %s", step, details.QRLinks, first, renewed.QRLink)
	timestamp(step, details.QRLinks[0].ExpiresAt)
	ok(step, "200 3 users, seats 3/3, 1 active link")

	step = "disconnect"
	var disconnected disconnectResponse
	success(step, c.do("POST", fmt.Sprintf("/workspaces/%s/users/%d/whatsapp/disconnect", ws, first), nil, c.token),
		200, false, &disconnected, "workspace_id", "user_id", "disconnected", "description")
	check(disconnected.WorkspaceID == ws, "%s: workspace_id %q", step, disconnected.WorkspaceID)
	check(disconnected.UserID == first, "%s: user_id %d", step, disconnected.UserID)
	check(!disconnected.Disconnected, "%s: disconnected is true", step)
	check(disconnected.Description != "", "%s: empty description", step)
	ok(step, "200 disconnected=false (%s)", disconnected.Description)

	step = "token-get"
	tokenPath := "/workspaces/" + ws + "/api-token"
	var current tokenResponse
	success(step, c.do("GET", tokenPath, nil, c.token), 200, true, &current, "workspace_id", "token")
	check(current.WorkspaceID == ws, "%s: workspace_id %q", step, current.WorkspaceID)
	check(current.Token != "", "%s: empty token", step)
	ok(step, "200 a token")

	step = "token-rotate"
	var rotated tokenResponse
	success(step, c.do("POST", tokenPath, nil, c.token), 201, true, &rotated, "workspace_id", "token", "rotated_at")
	check(rotated.WorkspaceID == ws, "%s: workspace_id %q", step, rotated.WorkspaceID)
	check(rotated.Token != "" && rotated.Token != current.Token, "%s: the token did not change", step)
	timestamp(step, rotated.RotatedAt)
	ok(step, "201 a new token, rotated at %s", rotated.RotatedAt)

	step = "token-get-after-rotate"
	var after tokenResponse
	success(step, c.do("GET", tokenPath, nil, c.token), 200, true, &after, "workspace_id", "token")
	check(after.Token == rotated.Token, "%s: token is not the rotated one", step)
	ok(step, "200 the rotated token")

	step = "error-400"
	e := failure(step, c.do("POST", "/workspaces", map[string]any{"display_name": "Not Valid!", "seats_purchased": 1},
		c.token), 400, "invalid_request")
	check(strings.Contains(e.Description, "display_name"), "%s: the description does not name the field: %q", step,
		e.Description)
	ok(step, "%s", e.Description)

	step = "error-401"
	r := c.do("GET", "/workspaces/"+ws, nil, env["PARTNER_BAD_TOKEN"])
	e = failure(step, r, 401, "invalid_signature")
	check(strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer "), "%s: WWW-Authenticate %q", step,
		r.header.Get("WWW-Authenticate"))
	ok(step, "%s", e.Description)

	step = "error-404"
	e = failure(step, c.do("GET", "/workspaces/"+ws+"-missing", nil, c.token), 404, "workspace_not_found")
	ok(step, "%s", e.Description)

	step = "error-409"
	e = failure(step, c.do("POST", "/workspaces", map[string]any{"display_name": name, "seats_purchased": 3}, c.token),
		409, "workspace_creation_failed")
	ok(step, "%s", e.Description)

	fmt.Println("all steps passed")
}
