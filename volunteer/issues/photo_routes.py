"""Photos of an issue: add, view (staff may see the file as uploaded), make public."""
from __future__ import annotations

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteer import policy
from volunteer.actions import attempt
from volunteer.auth.forms import ConfirmForm
from volunteer.extensions import db
from volunteer.issues import bp
from volunteer.issues.forms import PhotoForm
from volunteer.issues.models import Issue, IssueEvent, IssuePhoto, IssueStatus
from volunteer.issues.photos import PhotoBatch, original_path, read_uploads, web_path
from volunteer.issues.services import can_view
from volunteer.issues.workflow import is_staff_for, only_follower, roles_for


def can_publish_photos(user, issue: Issue) -> bool:
    return policy.may_publish_photos(roles_for(user, issue))


def can_add_photos(user, issue: Issue) -> bool:
    """The reporter and staff of the issue's scope, until it is closed or rejected."""
    roles = roles_for(user, issue) - {"follower"}
    return bool(roles) and issue.status not in (IssueStatus.closed, IssueStatus.rejected)


def _photo_or_404(issue_id: int, photo_id: int) -> tuple[Issue, IssuePhoto]:
    photo = db.session.get(IssuePhoto, photo_id)
    if photo is None or photo.issue_id != issue_id or not can_view(current_user, photo.issue):
        abort(404)
    return photo.issue, photo


@bp.route("/<int:issue_id>/photos/<int:photo_id>")
@login_required
def photo(issue_id: int, photo_id: int):
    """A photo without metadata; ``?original=1`` gives staff the file as uploaded."""
    issue, p = _photo_or_404(issue_id, photo_id)
    if not p.public and only_follower(current_user, issue):
        abort(404)  # those who said "me too" see the public photos only
    if request.args.get("original") == "1":
        if not is_staff_for(current_user, issue):
            abort(404)
        path, mime = original_path(p), p.mime
    else:
        path, mime = web_path(p), "image/jpeg"
    if not path.exists():
        abort(404)
    resp = send_file(path, mimetype=mime, max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.route("/<int:issue_id>/photos", methods=["POST"])
@login_required
def add_photos(issue_id: int):
    """Add photos to an issue (before and after, for example)."""
    issue = db.session.get(Issue, issue_id)
    if issue is None or not can_view(current_user, issue):
        abort(404)
    if not can_add_photos(current_user, issue):
        abort(403)
    form = PhotoForm()
    if not form.validate_on_submit():
        abort(400)
    with attempt(category="danger") as outcome:  # the files go again with a rollback
        photos = read_uploads(request.files.getlist(form.photos.name))
        if photos:
            PhotoBatch().add(issue, photos, current_user)
            issue.events.append(IssueEvent(actor_id=current_user.id, action="photo",
                                           from_status=issue.status, to_status=issue.status))
    if not outcome.ok:
        return redirect(url_for("issues.detail", issue_id=issue_id))
    if not photos:
        flash(_("Please choose a photo."), "warning")
        return redirect(url_for("issues.detail", issue_id=issue_id))
    flash(_("Photos added."), "success")
    return redirect(url_for("issues.detail", issue_id=issue_id) + "#photos")


@bp.route("/<int:issue_id>/photos/<int:photo_id>/public", methods=["POST"])
@login_required
def photo_public(issue_id: int, photo_id: int):
    """Show a photo on the public board, or take it off again."""
    issue, p = _photo_or_404(issue_id, photo_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not can_publish_photos(current_user, issue):
        abort(403)  # only the grid leader, the village admin or the town admin
    p.public = not p.public
    p.public_by_id = current_user.id if p.public else None
    issue.events.append(IssueEvent(actor_id=current_user.id,
                                   action="photo_public" if p.public else "photo_private",
                                   from_status=issue.status, to_status=issue.status))
    db.session.commit()
    flash(_("The photo is shown on the public board now.") if p.public
          else _("The photo is no longer shown on the public board."), "success")
    return redirect(url_for("issues.detail", issue_id=issue_id) + "#photos")
