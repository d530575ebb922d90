"""The specs as served at `<base path>/openapi.json` (and `.yaml`): the written documents, with their
`$ref`s and component names, so that a client generated from the URL has the published model names
(`PartnerAPIWorkspaceExtendedResponse`, `PartnerAPIError`, ...). connexion serves its resolved copy,
every `$ref` inlined; this is its Swagger UI middleware serving the raw one, `servers` set the same
way (the base path the API is mounted on)."""

from __future__ import annotations

from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware


class WrittenSpecAPI(SwaggerUIAPI):
    def _spec_for_prefix(self, request) -> dict:
        return self.specification.with_base_path(self._base_path_for_prefix(request)).raw


class WrittenSpecSwaggerUI(SwaggerUIMiddleware):
    """Also: the base path alone (`/partner/api/v1`) is no redirect to a 404 but the 404 itself;
    `<base>/ui` still redirects to Swagger UI at `<base>/ui/`."""

    def __init__(self, app) -> None:
        super().__init__(app)
        self.router.redirect_slashes = False

    def add_api(self, specification, base_path=None, arguments=None, **kwargs) -> None:
        api = WrittenSpecAPI(specification, base_path=base_path, arguments=arguments, default=self.default_fn, **kwargs)
        self.router.mount(api.base_path, app=api.router)

