"""The service's page at /: Swagger UI on /docs.json, for the people who call the service.

It replaces BentoML's default page, which loads Google's tag manager: many production networks block or
forbid a third-party script. Every asset comes from this server: Swagger UI's files are the ones the
BentoML wheel ships (served by BentoML at /static_content/, pinned by uv.lock's bentoml), and
`validatorUrl: null` keeps Swagger UI from sending the document to its public validator.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse

from ..contract.names import SERVICE_NAME

PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>TITLE</title>
    <link rel="stylesheet" type="text/css" href="./static_content/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="./static_content/index.css" />
    <link rel="icon" type="image/png" href="./static_content/favicon-light-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="./static_content/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script>
      window.ui = SwaggerUIBundle({
        url: "./docs.json",
        dom_id: "#swagger-ui",
        deepLinking: true,
        validatorUrl: null,
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout",
      });
    </script>
  </body>
</html>
"""

BODY = PAGE.replace("TITLE", escape(SERVICE_NAME)).encode()  # not str.format: the script has braces


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(BODY)
