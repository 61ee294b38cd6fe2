"""The matcher's weights in the app: the log read for learning, a learned set offered with its
offline comparison, and only a person switching a set on or rolling back (DESIGN §5).

``learn`` (the ``flask matching learn`` command) never changes the live weights: it records a
*candidate*. The town admin sees it beside the weights in use on the admin's matching page and
switches it on (``switch_on``), or later goes back to an earlier set (the hand weights are
kept as a set the first time another is switched on). Every process's matcher picks up the
active set within seconds (``store``).
"""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from volunteer import policy
from volunteer.common import utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.inbox import services as inbox
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.matching import learning
from volunteer.matching.explore import TOP
from volunteer.matching.matcher import FEATURES, TERMS, Weights
from volunteer.matching.models import Slate, WeightSet, WeightSetStatus

#: Lists whose invitations come back to them (the pages an organiser invites from).
LEARN_CONTEXTS = ("issue_page", "session_staffing")
ACCEPT_HOURS = 24  # "accepted within 24 h": what the offline comparison counts

POSITIVE = (InvitationStatus.accepted, InvitationStatus.done)
NEGATIVE = (InvitationStatus.declined, InvitationStatus.expired, InvitationStatus.no_show)


class TuningError(DomainError):
    messages = {
        "not_allowed": _l("Only the town admin can change the matcher's weights."),
        "not_found": _l("There is no such set of weights."),
        "not_switchable": _l("This set of weights cannot be switched on (it is in use already, "
                             "or a newer one replaced it)."),
        "too_few": _l("Too few answered invitations to learn from yet: %(n)s of the "
                      "%(min)s needed."),
        "no_pairs": _l("No list on record has both a yes and a no among its invitations yet: "
                       "there is nothing to compare and learn from."),
        "switched_meanwhile": _l("Someone else switched the weights at the same moment; "
                                 "nothing was changed. Please look again."),
    }
    statuses = {"not_allowed": 403, "not_found": 404}


def hand_weights() -> Weights:
    """The configured weights (``MATCH_WEIGHTS`` over the defaults)."""
    return Weights.from_dict(current_app.config.get("MATCH_WEIGHTS") or {})


def active() -> WeightSet | None:
    return db.session.scalar(sa.select(WeightSet)
                             .where(WeightSet.status == WeightSetStatus.active).limit(1))


def active_id() -> int | None:
    """The live set's id (None: the hand weights): what each process's matcher watches."""
    return db.session.scalar(sa.select(WeightSet.id)
                             .where(WeightSet.status == WeightSetStatus.active).limit(1))


def weights_of(ws: WeightSet | None) -> Weights:
    """A set's weights over the configured ones (None: the configured ones)."""
    return Weights.from_dict({**hand_weights().as_dict(), **ws.weights}) if ws else \
        hand_weights()


def live_weights() -> Weights:
    """The weights in use: the active set's, else the configured ones."""
    return weights_of(active())


# -- the log -----------------------------------------------------------------------------------

def _outcome(status: str, expires_at, created_at, responded_at, now
             ) -> tuple[int, bool, bool]:
    """(+1 positive / −1 negative / 0 unknown, accepted within 24 h, whether that is known).
    An invitation still open is not known yet; one withdrawn unanswered (the places filled,
    the issue closed) never will be; one withdrawn after it was accepted was accepted."""
    if status == InvitationStatus.invited and expires_at is not None and expires_at <= now:
        status = InvitationStatus.expired
    said_yes = status in (*POSITIVE, InvitationStatus.no_show) or (
        status == InvitationStatus.withdrawn and responded_at is not None)
    accepted = said_yes and responded_at is not None \
        and responded_at - created_at <= timedelta(hours=ACCEPT_HOURS)
    known = status in (*POSITIVE, *NEGATIVE) or said_yes
    if status in POSITIVE:
        return 1, accepted, known
    if status in NEGATIVE:
        return -1, accepted, known
    return 0, accepted, known


def gather(now=None) -> list[learning.LoggedSlate]:
    """Every volunteer list shown on the pages organisers invite from, oldest first, with what
    became of each candidate."""
    now = now or utcnow()
    answers: dict[int, dict[int, tuple[int, bool, bool]]] = {}
    for slate_id, rank, status, expires_at, created_at, responded_at in db.session.execute(
            sa.select(Invitation.slate_id, Invitation.slate_rank, Invitation.status,
                      Invitation.expires_at, Invitation.created_at, Invitation.responded_at)
            .where(Invitation.slate_id.is_not(None), Invitation.slate_rank.is_not(None),
                   Invitation.origin == "invite")):
        answers.setdefault(slate_id, {})[rank] = _outcome(status, expires_at, created_at,
                                                          responded_at, now)
    out = []
    width = len(FEATURES)
    for slate_id, data in db.session.execute(
            sa.select(Slate.id, Slate.data)
            .where(Slate.context.in_(LEARN_CONTEXTS), Slate.item_kind == "volunteer")
            .order_by(Slate.id)):
        feats = data.get("features") or []
        n = len(feats)
        if not n:
            continue
        f = np.zeros((n, width))
        for i, row in enumerate(feats):
            f[i, :min(width, len(row))] = row[:width]
        got = answers.get(slate_id, {})
        invited = np.zeros(n, dtype=bool)
        answered = np.zeros(n, dtype=bool)
        accepted = np.zeros(n, dtype=bool)
        outcome = np.zeros(n, dtype=int)
        for rank, (o, acc, known) in got.items():
            if 1 <= rank <= n:
                invited[rank - 1] = True
                answered[rank - 1] = known
                accepted[rank - 1] = acc
                outcome[rank - 1] = o
        explored = data.get("explore") or {}
        out.append(learning.LoggedSlate(
            features=f, grades=np.asarray(data.get("grades") or data.get("tiers") or [0] * n),
            invited=invited, accepted=accepted, outcome=outcome,
            urgent=bool(data.get("urgent")), swap=explored.get("swap"),
            eligible=tuple(explored.get("eligible") or ()), answered=answered))
    return out


# -- learning ----------------------------------------------------------------------------------

def learn(now=None, seed: int = 0) -> WeightSet:
    """Learn weights from the log and record them as the candidate, with the offline
    comparison against the weights in use; ``TuningError("too_few")`` below the minimum of
    answered invitations (``MATCH_LEARN_MIN_OUTCOMES``). Never changes the live weights."""
    slates = gather(now)
    n, need = learning.outcomes(slates), int(current_app.config["MATCH_LEARN_MIN_OUTCOMES"])
    if n < need or len(slates) < 10:
        raise TuningError("too_few", params={"n": n, "min": need})
    current = live_weights()
    try:
        weights, comparison, _pos, summary = learning.learn(slates, current, seed=seed)
    except ValueError:  # no slate with both a yes and a no among its invitations
        raise TuningError("no_pairs") from None
    db.session.execute(sa.update(WeightSet).where(WeightSet.status == WeightSetStatus.candidate)
                       .values(status=WeightSetStatus.superseded))
    ws = WeightSet(source="learned", status=WeightSetStatus.candidate,
                   weights={t: getattr(weights, t) for t in TERMS},
                   report={"comparison": comparison.as_dict(), "summary": summary,
                           "current": {t: getattr(current, t) for t in TERMS},
                           "current_id": active_id(), "top": TOP,
                           "logged_slates": len(slates), "outcomes": n})
    db.session.add(ws)
    db.session.flush()
    # a person decides: tell them
    inbox.notify(inbox.town_office(policy.may_tune_matcher), "town_office", "weights_learned")
    return ws


def switch_on(actor, set_id: int, now=None) -> WeightSet:
    """Make a candidate or an earlier set the live weights (the one in use is kept to roll back
    to). Only the town admin; the caller commits."""
    if not policy.may_tune_matcher(actor):
        raise TuningError("not_allowed")
    ws = db.session.get(WeightSet, set_id, with_for_update=True)
    if ws is None:
        raise TuningError("not_found")
    if ws.status not in (WeightSetStatus.candidate, WeightSetStatus.retired):
        raise TuningError("not_switchable")
    now = now or utcnow()
    current = db.session.scalar(sa.select(WeightSet).where(  # two admins at once: one waits
        WeightSet.status == WeightSetStatus.active).with_for_update())
    if current is None:  # keep the hand weights as a set to come back to
        db.session.add(WeightSet(source="hand", status=WeightSetStatus.retired,
                                 weights={t: getattr(hand_weights(), t) for t in TERMS},
                                 retired_at=now))
    else:
        current.status, current.retired_at = WeightSetStatus.retired, now
    db.session.flush()
    ws.status, ws.activated_at, ws.activated_by_id = WeightSetStatus.active, now, actor.id
    return ws


def overview() -> dict:
    """What the admin's matching page shows: the live weights, the candidate with its report,
    the earlier sets, and how much the log holds."""
    in_use = active()
    candidate = db.session.scalar(sa.select(WeightSet).where(
        WeightSet.status == WeightSetStatus.candidate).order_by(WeightSet.id.desc()).limit(1))
    history = db.session.scalars(sa.select(WeightSet).where(
        WeightSet.status == WeightSetStatus.retired).order_by(WeightSet.id.desc())
        .limit(20)).all()
    return {"active": in_use, "candidate": candidate, "history": history,
            "live": weights_of(in_use), "hand": hand_weights(), "terms": TERMS,
            "min_outcomes": int(current_app.config["MATCH_LEARN_MIN_OUTCOMES"])}


def log_size(now=None) -> tuple[int, int]:
    """(lists on record from the inviting pages, invitations picked from them whose answer
    is known) — counted as ``gather`` and ``learn`` count them."""
    now = now or utcnow()
    learnable = sa.and_(Slate.context.in_(LEARN_CONTEXTS), Slate.item_kind == "volunteer")
    slates = db.session.scalar(sa.select(sa.func.count(Slate.id)).where(learnable)) or 0
    answered = sa.or_(Invitation.status.in_((*POSITIVE, InvitationStatus.declined,
                                             InvitationStatus.no_show)),
                      sa.and_(Invitation.status == InvitationStatus.invited,
                              Invitation.expires_at <= now))
    n = db.session.scalar(sa.select(sa.func.count(Invitation.id))
                          .join(Slate, Invitation.slate_id == Slate.id)
                          .where(learnable, Invitation.slate_rank.is_not(None),
                                 Invitation.origin == "invite", answered)) or 0
    return slates, n
