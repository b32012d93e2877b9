"""The "my stack" page. (Placeholder: being written.)"""

from django.http import HttpResponse


def my_stack(request):
    return HttpResponse("")
