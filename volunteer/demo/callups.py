"""The demo town's past emergency call-up: a typhoon warning twelve days ago, when 金湾居民区
called the volunteers of two of its grids to move elderly residents out of low-lying homes and
tie down sheds. Most came, checked in and out at the 居委会; their hours are confirmed, and the
call-up is closed with what was done. Deterministic (its own random seed) and fast: the rows
are written directly, through the same eligibility rule as a real call-up."""
from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from volunteer.auth.models import Role, RoleAssignment
from volunteer.callups.models import (
    CallUp,
    CallUpAnswer,
    CallUpReason,
    CallUpResponse,
    CallUpStatus,
    CheckVia,
    NoticeOutcome,
)
from volunteer.callups.services import eligible, quarter_hours
from volunteer.common import to_local, to_utc, utcnow
from volunteer.extensions import db
from volunteer.hours.models import HoursStatus, ServiceHours
from volunteer.inbox.models import Notification
from volunteer.org.models import Grid, Village

VILLAGE, GRIDS = "SY01", ("SY01-01", "SY01-02")
DAYS_AGO = 12
SUMMARY = ("台风“海葵”过境前完成低洼地区转移：转移独居和行动不便老人 17 名至居委会活动室安置，"
           "加固棚架和广告牌 9 处，清理下水道口 14 个；夜间值守至 18:30 风力减弱后解除。无人员伤亡。")


def seed_callups() -> dict[str, int]:
    """Add the past call-up; returns counts for the seed's summary."""
    rnd = random.Random(2023)
    village = db.session.scalar(db.select(Village).where(Village.code == VILLAGE))
    grids = list(db.session.scalars(db.select(Grid).where(Grid.code.in_(GRIDS))
                                    .order_by(Grid.code)))
    if village is None or not grids:
        return {}
    admin_id = db.session.scalar(db.select(RoleAssignment.user_id).where(
        RoleAssignment.role == Role.village_admin.value, RoleAssignment.village_id == village.id)
        .order_by(RoleAssignment.id).limit(1))
    day = to_local(utcnow()).date() - timedelta(days=DAYS_AGO)
    starts = to_utc(datetime.combine(day, time(14, 0)))
    callup = CallUp(town_id=village.town_id, village=village, reason=CallUpReason.flood_typhoon,
                    title="台风“海葵”来袭：转移低洼地区老人、加固棚架",
                    details="请穿雨衣、胶鞋，带手电筒；到居委会门口找书记报到。",
                    muster=f"{village.name}居委会门口", muster_lat=village.lat,
                    muster_lon=village.lon, starts_at=starts,
                    ends_at=starts + timedelta(hours=4), needed=25,
                    status=CallUpStatus.closed, created_by_id=admin_id,
                    created_at=starts - timedelta(minutes=40), summary=SUMMARY,
                    closed_at=starts + timedelta(hours=4, minutes=45), closed_by_id=admin_id)
    callup.grids = grids
    db.session.add(callup)
    db.session.flush()
    people = [row for row in eligible(callup) if row[0] != admin_id]
    called_at = callup.created_at
    came = 0
    entries, notices = [], []
    for i, (uid, grid_id, _night) in enumerate(people):
        r = CallUpResponse(callup_id=callup.id, volunteer_id=uid, grid_id=grid_id,
                           notice=NoticeOutcome.sent, created_at=called_at)
        roll = rnd.random()
        if came < callup.needed and roll < 0.85:
            came += 1
            r.answer = CallUpAnswer.coming
            r.answered_at = called_at + timedelta(minutes=rnd.randint(1, 15))
            r.checked_in_at = starts + timedelta(minutes=rnd.randint(-10, 35))
            r.checkin_via = CheckVia.qr if rnd.random() < 0.6 else CheckVia.button
            if r.checkin_via == CheckVia.button:
                r.checkin_lat = village.lat + rnd.uniform(-0.0003, 0.0003)
                r.checkin_lon = village.lon + rnd.uniform(-0.0003, 0.0003)
                r.checkin_accuracy_m = float(rnd.choice([8, 12, 20, 35]))
            r.checked_out_at = starts + timedelta(hours=4, minutes=rnd.randint(-60, 30))
            r.checkout_via = CheckVia.qr if rnd.random() < 0.6 else CheckVia.button
            r.hours = quarter_hours(r.checked_in_at, r.checked_out_at)
            entries.append(ServiceHours(
                volunteer_id=uid, callup=callup, kind="callup", activity=callup.title[:200],
                served_on=day, hours=r.hours, status=HoursStatus.confirmed,
                proposed_by_id=uid, proposed_at=r.checked_out_at, confirmed_by_id=admin_id,
                confirmed_at=callup.closed_at))
        elif roll < 0.93 or came >= callup.needed:
            r.answer = CallUpAnswer.standby if came >= callup.needed and i % 2 else \
                CallUpAnswer.cant
            r.answered_at = called_at + timedelta(minutes=rnd.randint(2, 30))
        # else: no answer
        db.session.add(r)
        notices.append(Notification(user_id=uid, kind="callup", event="callup",
                                    callup=callup, created_at=called_at,
                                    read_at=r.answered_at))
    db.session.add_all(entries + notices)
    callup.quorum_at = called_at + timedelta(minutes=20) if came >= callup.needed else None
    db.session.flush()
    return {"callups": 1, "callup_called": len(people), "callup_came": came}
