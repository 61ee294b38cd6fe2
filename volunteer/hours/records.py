"""Service records in the shape the national rules define (MCA Order No. 67, 志愿服务记录与证明
出具办法): one row per confirmed record of a period, headed in Chinese, for the town office to
upload to the national volunteer system. ``rows`` builds them; the route writes XLSX or CSV."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from volunteer import policy
from volunteer.auth.models import User
from volunteer.callups.models import CallUp, CallUpResponse
from volunteer.common import mask_id, to_local
from volunteer.extensions import db
from volunteer.hours.models import CorrectionStatus, HoursStatus, ServiceHours
from volunteer.invitations.models import Invitation
from volunteer.issues.models import Issue
from volunteer.org.models import Grid, GridPoint
from volunteer.rules import FORMULA_START
from volunteer.services.models import ServiceSession
from volunteer.xlsx import append

#: The columns, as the national system's import names them (README: "Service records").
COLUMNS = ("记录编号", "志愿者姓名", "志愿者编号", "证件类型", "证件号码", "联系电话", "服务项目", "组织单位", "服务地点", "开始时间",
           "结束时间", "服务时长（小时）", "服务内容", "记录人", "记录时间", "记录状态", "更正情况")
if TYPE_CHECKING:  # pragma: no cover
    from volunteer.dashboard.figures import Period

VALID = "有效"
#: Kinds of identity document as the national system names them.
ID_TYPES_ZH = {"id_card": "居民身份证", "passport": "护照", "hk_mo_permit": "港澳居民来往内地通行证",
               "tw_permit": "台湾居民来往大陆通行证", "other": "其他"}


@dataclass
class Record:
    """One confirmed service record."""

    number: str
    name: str
    national_no: str
    id_type: str
    id_number: str
    phone: str
    activity: str
    organisation: str
    place: str
    start: str
    end: str
    hours: float
    content: str
    recorder: str
    recorded_at: str
    status: str
    corrections: str

    def row(self) -> list:
        return [self.number, self.name, self.national_no, self.id_type, self.id_number,
                self.phone, self.activity, self.organisation,
                self.place, self.start, self.end, self.hours, self.content, self.recorder,
                self.recorded_at, self.status, self.corrections]


def _when(value) -> str:
    local = to_local(value)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def _scope_clause(villages: set[int] | None):
    """Records of activities organised in ``villages`` (None: the whole town)."""
    if villages is None:
        return sa.true()
    ids = villages or {-1}
    return sa.or_(
        ServiceHours.issue_id.in_(db.select(Issue.id).where(Issue.village_id.in_(ids))),
        ServiceHours.session_id.in_(
            db.select(ServiceSession.id).join(GridPoint).join(Grid)
            .where(Grid.village_id.in_(ids))),
        # A call-up's records: its 村居's; a town-wide one's, by the volunteer's grid then.
        ServiceHours.callup_id.in_(db.select(CallUp.id).where(CallUp.village_id.in_(ids))),
        sa.exists().where(CallUpResponse.callup_id == ServiceHours.callup_id,
                          CallUpResponse.volunteer_id == ServiceHours.volunteer_id,
                          CallUpResponse.grid_id.in_(db.select(Grid.id).where(
                              Grid.village_id.in_(ids)))))


def records(viewer: User, villages: set[int] | None, period: Period,
            town: str) -> list[Record]:
    """The confirmed records served within ``period`` in the scope, oldest first; identity
    numbers in full only as ``policy.identity_shown`` allows, masked otherwise."""
    entries = db.session.scalars(
        db.select(ServiceHours)
        .where(ServiceHours.status == HoursStatus.confirmed, ServiceHours.served_on >= period.start,
               ServiceHours.served_on <= period.end, _scope_clause(villages))
        .options(selectinload(ServiceHours.volunteer).selectinload(User.profile), selectinload(ServiceHours.confirmed_by),
                 selectinload(ServiceHours.corrections),
                 selectinload(ServiceHours.invitation).selectinload(Invitation.issue),
                 selectinload(ServiceHours.issue).selectinload(Issue.village),
                 selectinload(ServiceHours.issue).selectinload(Issue.grid),
                 selectinload(ServiceHours.session).selectinload(ServiceSession.point)
                 .selectinload(GridPoint.grid).selectinload(Grid.village),
                 selectinload(ServiceHours.callup).selectinload(CallUp.village),
                 selectinload(ServiceHours.callup).selectinload(CallUp.town))
        .order_by(ServiceHours.served_on, ServiceHours.id)).all()
    attended = {(r.callup_id, r.volunteer_id): r for r in db.session.scalars(
        db.select(CallUpResponse).where(CallUpResponse.callup_id.in_(
            {e.callup_id for e in entries if e.callup_id} or {-1})))}
    out = []
    for e in entries:
        inv = e.invitation
        if e.session is not None:
            s = e.session
            village = s.point.grid.village
            organisation = f"{village.town.name if village.town else town}{village.name}"
            place = f"{s.point.name}（{s.point.address or ''}）" if s.point.address else s.point.name
            start, end = _when(s.starts_at), _when(s.ends_at)
        elif e.issue is not None:
            village = e.issue.village
            organisation = f"{village.town.name if village.town else town}{village.name}"
            place = f"{e.issue.village.name}{e.issue.grid.name}"
            start = _when(inv.starts_at) if inv and inv.starts_at else e.served_on.isoformat()
            end = _when(inv.ends_at) if inv and inv.ends_at else ""
        elif e.callup is not None:  # an emergency call-up: from check-in to check-out
            c = e.callup
            organisation = f"{c.town.name}{c.village.name if c.village else ''}"
            place = c.muster
            r = attended.get((c.id, e.volunteer_id))
            start = _when(r.checked_in_at) if r and r.checked_in_at else _when(c.starts_at)
            end = _when(r.checked_out_at) if r and r.checked_out_at else ""
        else:  # the activity is gone; the record stays
            organisation, place, start, end = town, "", e.served_on.isoformat(), ""
        corrections = "；".join(
            f"{c.old_hours}→{c.new_hours}（{c.reason}）" for c in e.corrections
            if c.status == CorrectionStatus.accepted)
        profile = e.volunteer.profile
        out.append(Record(
            number=f"{e.served_on.year}-{e.id:06d}", name=e.volunteer.name,
            national_no=profile.national_no or "" if profile else "",
            id_type=ID_TYPES_ZH.get(profile.id_type or "", "") if profile else "",
            id_number=(profile.id_number if policy.identity_shown(viewer, profile)
                       else mask_id(profile.id_number)) or "" if profile else "",
            phone=e.volunteer.phone or "", activity=e.activity, organisation=organisation,
            place=place, start=start, end=end, hours=float(e.hours),
            content=e.note or e.activity,
            recorder=e.confirmed_by.name if e.confirmed_by else "",
            recorded_at=_when(e.confirmed_at), status=VALID, corrections=corrections))
    return out


def to_csv(items: list[Record]) -> bytes:
    """CSV in UTF-8 with a byte-order mark, so that Chinese Excel opens it as it is."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    for r in items:
        # A cell a spreadsheet would read as a formula is quoted with a leading apostrophe.
        writer.writerow([f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START)
                         else v for v in r.row()])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(items: list[Record], title: str) -> bytes:
    """One sheet, the headers in the first row, people's text stored as text."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    append(ws, COLUMNS)
    for r in items:
        append(ws, r.row())
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
