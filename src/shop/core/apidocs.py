"""The interactive API docs, `/docs` (Swagger UI) and `/redoc` (ReDoc), served whole by the app.

Nothing on either page comes from elsewhere: the UIs' files are those that the
`fastapi-standalone-docs` package ships (with their licences, and ReDoc's logo pointed at our own
copy) and Swagger UI is started by a script of ours, not an inline one. So the pages render on a
machine without internet access, and their Content-Security-Policy allows only this origin.
"""

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

DOCS_URL = "/docs"
REDOC_URL = "/redoc"

_VENDORED = Path(str(files("fastapi_standalone_docs") / "static"))
_OWN = Path(__file__).parent / "static" / "apidocs"
_templates = Environment(
    loader=PackageLoader("shop.core", "templates/apidocs"), autoescape=select_autoescape(), undefined=StrictUndefined
)


def _policy(*directives: str) -> str:
    """A page's Content-Security-Policy: nothing from elsewhere, only what that page needs besides."""
    common = (
        "default-src 'none'",
        "script-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
    return "; ".join((*common, *directives))


SWAGGER_UI_CSP = _policy("style-src 'self'")
# ReDoc styles itself with styled-components, whose <style> elements no nonce can reach (the bundle
# keeps webpack's nonce to itself), and runs its search in a worker that it makes from a blob.
REDOC_CSP = _policy("style-src 'self' 'unsafe-inline'", "worker-src blob:")


def install_docs(app: FastAPI, *, openapi_url: str) -> None:
    """Serve Swagger UI on /docs and ReDoc on /redoc, with their assets, reading `openapi_url`."""

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return _page("swagger-ui.html", request, openapi_url, SWAGGER_UI_CSP)

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return _page("redoc.html", request, openapi_url, REDOC_CSP)

    # After the pages, so that /docs and /redoc themselves are routes, not files.
    app.mount(f"{DOCS_URL}/assets", StaticFiles(directory=_OWN), name="docs-assets")
    app.mount(DOCS_URL, StaticFiles(directory=_VENDORED / "swagger"), name="docs-swagger-ui")
    # ReDoc's patched bundle asks for its logo at the page's own path + "/logo-mini.svg".
    app.mount(REDOC_URL, StaticFiles(directory=_VENDORED / "redoc"), name="docs-redoc")


def _page(template: str, request: Request, openapi_url: str, policy: str) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    html = _templates.get_template(template).render(title=request.app.title, root=root, openapi_url=root + openapi_url)
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})
