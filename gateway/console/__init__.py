"""The officer console (办事人员工作台) at /console: server-rendered pages (Jinja2) for village,
township, county and province officers. Every page reads and writes through the public API
(/api/v1 of this gateway, in-process, with the signed-in officer's token): jurisdiction, masking
and the case rules stay the API's."""

from gateway.console.router import make_router

__all__ = ["make_router"]
