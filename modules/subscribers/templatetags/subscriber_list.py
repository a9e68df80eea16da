"""`{% subscriber_result_list cl %}`: unfold's result table, its rows rendered once per page."""

from django import template
from unfold.templatetags.unfold_list import result_list as unfold_result_list

from modules.subscribers import listing

register = template.Library()
FAST = "admin/subscribers/subscriber/result_list.html"
UNFOLD = "admin/change_list_results.html"


@register.simple_tag(takes_context=True)
def subscriber_result_list(context, cl):
    if listing.supports(cl):
        data, name = listing.result_list(context, cl), FAST
    else:
        data, name = unfold_result_list(context, cl), UNFOLD
    new_context = context.new(data)
    if context.get("csrf_token") is not None:
        new_context["csrf_token"] = context["csrf_token"]
    return context.template.engine.get_template(name).render(new_context)
