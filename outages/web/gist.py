"""What an incident page shows on its first screen: the first paragraph of the summary, when it
began, how long it took to mitigate and resolve, who was hit and how, the root cause in a
sentence and the promised fixes counted by status. Built from an incident loaded in_full(),
with no query of its own."""

from dataclasses import dataclass

from outages import excerpts
from outages.models import ActionItem, CustomerImpact

GIST_DURATIONS = ("Time to mitigate", "Time to resolve")
# How the chips say each level of hit, shortest first: the full words are in the table below.
HIT_WORDS = {
    CustomerImpact.Level.OUTAGE: "down",
    CustomerImpact.Level.DEGRADED: "degraded",
    CustomerImpact.Level.AFFECTED: "affected",
}
STATUS_WORDS = {
    ActionItem.Status.DONE: "done",
    ActionItem.Status.PLANNED: "planned",
    ActionItem.Status.IN_PROGRESS: "in progress",
    ActionItem.Status.ABANDONED: "abandoned",
    ActionItem.Status.UNKNOWN: "status unknown",
}


@dataclass
class Gist:
    lead: str  # the summary's first paragraph, sanitised HTML
    began: object  # the start's MilestoneFact
    durations: list  # duration_facts() rows of GIST_DURATIONS
    hits: list  # (impact, words) of each customer hit, worst first, then by name
    cause: str  # the root cause's first sentence, plain text
    promises: int  # how many action items
    promise_statuses: list  # (status, count, words), in the order of ActionItem.Status


def incident_gist(incident, milestones, durations):
    """The Gist of an incident loaded with Incident.objects.in_full(); `milestones` and
    `durations` as milestone_facts() and duration_facts() gave them."""
    hit = [impact for impact in incident.impacts.all() if impact.was_hit]
    hit.sort(key=lambda impact: (impact.severity_rank, impact.customer.name.casefold()))
    items = incident.action_items.all()
    statuses = [
        (status, count, STATUS_WORDS[status])
        for status in ActionItem.Status
        for count in [sum(item.status == status for item in items)]
        if count
    ]
    return Gist(
        lead=excerpts.first_paragraph(incident.summary_html),
        began=next(fact for fact in milestones if fact.name == "started_at"),
        durations=[row for row in durations if row[0] in GIST_DURATIONS],
        hits=[(impact, HIT_WORDS[impact.level]) for impact in hit],
        cause=excerpts.first_sentence(incident.root_cause_html),
        promises=len(items),
        promise_statuses=statuses,
    )
