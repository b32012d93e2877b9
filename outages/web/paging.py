"""Pages of a list and links that change a page's query string, for the reader pages."""

from django.core.paginator import Paginator

PAGE_SIZE = 20


def paginate(request, queryset, per_page=PAGE_SIZE, count=None):
    """A page of `queryset`; `count`, its length when known already (kept), spares the
    paginator its COUNT query."""
    paginator = Paginator(queryset, per_page)
    if count is not None:
        paginator.count = count
    # get_page() turns a missing, malformed or out-of-range ?page= into a real page, never a 500.
    return paginator.get_page(request.GET.get("page"))


def link_with(request, **changes):
    """This page's URL with some query parameters set or (None) removed, back on page one."""
    params = request.GET.copy()
    params.pop("page", None)
    for name, value in changes.items():
        params.pop(name, None)
        if value is not None:
            params[name] = value
    return f"{request.path}?{params.urlencode()}" if params else request.path
