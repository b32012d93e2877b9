"""Statistics and the customer-provider map. (Placeholder: being written.)"""

from django.http import HttpResponse


def statistics(request):
    return HttpResponse("")


def customer_map(request):
    return HttpResponse("")
