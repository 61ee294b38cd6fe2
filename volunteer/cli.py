"""Command-line interface: ``flask --app wsgi <command>`` (DESIGN §6)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask_migrate import upgrade

from volunteer import policy, rules
from volunteer.auth.services import (
    AccountError,
    create_token,
    create_user,
    find_user,
    grant_role,
    resolve_scope,
    revoke_tokens,
    set_password,
)
from volunteer.callups.services import tick as callups_tick
from volunteer.common import normalize_phone
from volunteer.dashboard.warm import warm as warm_dashboards
from volunteer.demo.city import CityPlan, analyse, city_logins, seed_city
from volunteer.demo.seed import DEMO_PASSWORD, DemoError, demo_logins, seed_demo
from volunteer.extensions import db
from volunteer.invitations.services import tick as invitations_tick
from volunteer.issues.models import Issue
from volunteer.issues.services import tick as issues_tick
from volunteer.issues.services import tick_verification
from volunteer.matching import artefact, records, slates, store, tuning
from volunteer.org.models import Town, Village
from volunteer.outbox import services as outbox
from volunteer.services.sessions import attendance_due
from volunteer.services.sessions import tick as sessions_tick
from volunteer.setup import load_reference_data
from volunteer.validators import strip
from volunteer.volunteers.importer import CommandLine, ImportFileError, import_file
from volunteer.volunteers.previews import purge as purge_previews

PACKAGE_DIR = Path(__file__).resolve().parent


def register_cli(app: Flask) -> None:
    """Attach the commands to ``app``."""
    app.cli.add_command(setup_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(seed_city_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(create_token_command)
    app.cli.add_command(translate)
    app.cli.add_command(import_volunteers_command)
    app.cli.add_command(tick_command)
    app.cli.add_command(deliver_command)
    app.cli.add_command(matching)


@click.command("setup")
def setup_command():
    """Apply migrations and add reference data (idempotent; never touches edited rows)."""
    upgrade(directory=str(PACKAGE_DIR / "migrations"))
    added = load_reference_data()
    db.session.commit()
    click.echo("setup done: " + ", ".join(f"{k} +{v}" for k, v in added.items()))
    skills = records.taxonomy()[1]
    if not artefact.is_current(skills):  # the matcher never trains in a request
        started = time.perf_counter()
        artefact.train(skills)
        click.echo(f"setup: the matcher's skill model trained in "
                   f"{time.perf_counter() - started:.1f} s")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the town already has 村居.")
def seed_demo_command(if_empty: bool):
    """Build the demo town (after `setup`) and print its logins."""
    if if_empty and db.session.scalar(db.select(db.func.count(Village.id))):
        click.echo("the town already has data; demo not loaded")
    else:
        started = time.perf_counter()
        try:
            counts = seed_demo()
        except DemoError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        db.session.commit()
        click.echo(f"demo town loaded in {time.perf_counter() - started:.1f} s: "
                   + ", ".join(f"{k} {v}" for k, v in counts.items()))
    logins = demo_logins()
    if logins:
        click.echo(f"demo logins (password {DEMO_PASSWORD}):")
        for role, phone, name, scope in logins:
            click.echo(f"  {role:17} {phone}  {name}  {scope}")


@click.command("seed-city")
@click.option("--towns", type=click.IntRange(1, 500), default=11, show_default=True)
@click.option("--volunteers", type=click.IntRange(0, 5_000_000), default=100_000,
              show_default=True)
@click.option("--grids", type=click.IntRange(0, 500_000), default=0,
              help="Grids (default: one per 20 volunteers).")
@click.option("--issues", type=click.IntRange(0, 5_000_000), default=0,
              help="Issues of the last half year (default: four per grid).")
@click.option("--seed", type=int, default=1, show_default=True)
def seed_city_command(towns: int, volunteers: int, grids: int, issues: int, seed: int):
    """Build a synthetic district or city for load tests (after `setup`, instead of the demo)."""
    started = time.perf_counter()
    try:
        plan = CityPlan(towns=towns, volunteers=volunteers, grids=grids, issues=issues,
                        seed=seed)
        counts = seed_city(plan, progress=lambda line: click.echo(f"  {line}"))
    except DemoError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    analyse()
    click.echo(f"city built in {time.perf_counter() - started:.1f} s: "
               + ", ".join(f"{k} {v}" for k, v in counts.items()))
    click.echo(f"logins (password {DEMO_PASSWORD}):")
    for role, phone in city_logins():
        click.echo(f"  {role:17} {phone}")


def _rule(rule, normalise=None):
    """A click callback from an input rule of ``volunteer.rules`` (after ``normalise``)."""

    def callback(ctx, param, value):
        if value is None:
            return None
        if normalise is not None:
            value = normalise(value)
        message = rule(value)
        if message is not None:
            raise click.BadParameter(str(message))
        return value
    return callback


def _phone(value: str) -> str:
    return normalize_phone(value)


def _strip(value: str) -> str:
    return strip(value)


@click.command("create-user")
@click.option("--phone", required=True, help="11-digit mobile number.",
              callback=_rule(rules.phone, _phone))
@click.option("--name", required=True, callback=_rule(rules.name, _strip))
@click.option("--password", required=True, callback=_rule(rules.password))
@click.option("--role", required=True, type=click.Choice(
    ["resident", "volunteer", "grid_member", "grid_leader", "grid_instructor", "village_admin",
     "department_staff", "admin", "district_admin"]))
@click.option("--scope", default=None, help="Grid, 村居, department, town or district code the "
              "role applies to (a town admin without it: the only town).")
def create_user_command(phone: str, name: str, password: str, role: str, scope: str | None):
    """Create a user with a role (or add the role to an existing user with that phone; a new
    password for them ends their sessions and revokes their API tokens, as a reset does)."""
    try:
        scope_obj = resolve_scope(role, scope)
    except AccountError as exc:
        messages = {"scope_needed": f"role {role} needs --scope (a grid, 村居, department, town "
                                    f"or district code)",
                    "scope_unknown": f"no grid, 村居, department, town or district has code "
                                     f"{scope!r}",
                    "scope_not_needed": f"role {role} takes no --scope"}
        raise click.BadParameter(messages[str(exc)], param_hint="--scope") from None
    user = find_user(phone)
    revoked = 0
    if user is None:
        user = create_user(name=name, phone=phone, password=password, consent_method="attested")
        verb = "created"
    else:
        set_password(user, password)
        revoked = revoke_tokens(user)
        verb = "updated"
    grant_role(user, role, scope_obj)
    db.session.commit()
    click.echo(f"{verb} user {user.id} {user.name} {user.phone}: {role}"
               + (f" of {scope}" if scope else "")
               + (f"; {revoked} API token(s) revoked" if revoked else ""))


@click.command("create-token")
@click.option("--phone", required=True)
@click.option("--name", "token_name", default="cli", help="What the token is for.")
def create_token_command(phone: str, token_name: str):
    """Print a new API bearer token for the user, alone on the last line."""
    user = find_user(phone)
    if user is None:
        raise click.ClickException(f"no user with phone {phone}")
    token = create_token(user, token_name)
    db.session.commit()
    click.echo(f"token for {user.name} ({user.phone}); it is shown only this once:")
    click.echo(token)


@click.command("import-volunteers")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Only validate; write nothing.")
@click.option("--scope", default=None, help="Code of a town: import as its office (into its "
              "村居, updating only people who stand in that town); or of a 村居: as its admin "
              "(into its grids, updating only its own people). Without it: as the office of "
              "everything, which updates anyone but a town or district admin.")
def import_volunteers_command(file: str, dry_run: bool, scope: str | None):
    """Import volunteers from CSV (UTF-8/GB18030) or XLSX; all rows or none (DESIGN §6)."""
    actor = CommandLine()
    if scope:
        village = db.session.scalar(db.select(Village).where(Village.code == scope))
        town = None if village else db.session.scalar(db.select(Town).where(Town.code == scope))
        if village is None and town is None:
            raise click.ClickException(f"no town or 村居 with code {scope}")
        actor = CommandLine(village.id) if village else CommandLine(town=town)
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror}") from None
    started = time.perf_counter()
    try:
        report = import_file(data, file, attested_by=None, method="attested_cli",
                             dry_run=dry_run,
                             allowed_villages=policy.office_villages(actor), actor=actor)
    except ImportFileError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    if report.errors:
        db.session.rollback()
        for err in report.errors:
            click.echo(str(err), err=True)
        raise click.ClickException(
            f"{len(report.errors)} bad row(s); nothing was imported")
    if dry_run:
        db.session.rollback()
        click.echo(f"{len(report.rows)} rows are valid (dry run: nothing written) "
                   f"in {time.perf_counter() - started:.1f} s")
        return
    db.session.commit()
    took = time.perf_counter() - started
    click.echo(f"imported {len(report.rows)} rows: {report.created} new, {report.updated} updated "
               f"in {took:.1f} s")


@click.command("tick")
def tick_command():
    """Do the work that falls due with time (cron: every few minutes). Idempotent."""
    flagged = issues_tick()
    unverified = tick_verification()
    sent = invitations_tick()
    signups = sessions_tick()
    unattended = attendance_due()
    db.session.commit()
    click.echo(f"tick: {flagged + unverified} issue(s) newly overdue ({unverified} waiting for "
               f"verification); reminders: {sent['expiring']} "
               f"invitation(s) about to expire, {sent['tomorrow']} task(s) starting within a "
               f"day, {signups} resident(s) of a session within a day; {sent['expired']} "
               f"expired invitation(s) reported to organisers")
    click.echo(f"tick: {unattended} session(s) over without attendance reported to organisers")
    reminded = callups_tick()
    db.session.commit()
    click.echo(f"tick: {reminded} volunteer(s) reminded of a call-up they have not answered")
    click.echo(f"tick: {purge_previews()} expired import preview(s) deleted")
    purged = outbox.purge(current_app.config["OUTBOX_KEEP_DAYS"])
    db.session.commit()
    click.echo(f"tick: {purged} sent message(s) older than "
               f"{current_app.config['OUTBOX_KEEP_DAYS']} days deleted from the outbox")
    days = current_app.config["MATCH_SLATE_DAYS"]
    pruned = slates.prune(days)
    db.session.commit()
    click.echo(f"tick: {pruned} suggestion list(s) older than {days} days deleted")
    skills = records.taxonomy()[1]
    # The taxonomy or the corpus changed since training.
    if current_app.config["MATCH_TRAIN_ON_TICK"] and not artefact.is_current(skills):
        artefact.train(skills)
        click.echo("tick: the matcher's skill model trained again (the taxonomy, the corpus "
                   "or scikit-learn changed)")
    click.echo(f"tick: {warm_dashboards()} dashboard view(s) computed ahead of their readers")
    written = store.refresh_snapshot()
    if written is not None:
        click.echo(f"tick: the matcher's snapshot written anew ({written} volunteers): the "
                   "one the workers started from had fallen behind")


@click.command("deliver")
@click.option("--once", is_flag=True, help="Send what is due, then stop (for cron).")
@click.option("--batch", default=100, show_default=True, type=click.IntRange(1, 1000),
              help="Messages taken at a time.")
@click.option("--poll", default=2.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="Seconds to wait when nothing is due.")
def deliver_command(once: bool, batch: int, poll: float):
    """Send the outbox: e-mail, SMS and WeChat messages written by committed changes. Runs until
    stopped (SIGTERM or Ctrl-C finish the message in hand); several may run at once."""
    import signal
    import threading

    stop = threading.Event()
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    total = outbox.Counts()
    while True:
        counts = outbox.deliver_due(batch, stop=stop)
        db.session.remove()  # let go of the connection between rounds
        for key in ("sent", "failed", "dead"):
            setattr(total, key, getattr(total, key) + getattr(counts, key))
        if counts.sent or counts.failed or counts.dead:
            click.echo(f"deliver: {counts}")
        if once or stop.wait(0 if counts.sent else poll):
            break
    click.echo(f"deliver: done; {total}")


@click.group()
def matching():
    """The matcher's skill model."""


@matching.command("train")
def matching_train():
    """Fit the skill model on the corpus and the taxonomy; save it in the instance folder."""
    started = time.perf_counter()
    model = artefact.train(records.taxonomy()[1])
    click.echo(f"trained on {len(model.skills)} skills in {time.perf_counter() - started:.1f} s:"
               f" {artefact.model_path()}")


@matching.command("snapshot")
def matching_snapshot():
    """Build the matcher's index from the database and write the snapshot that web workers
    map at their first match (run after a deploy or a bulk import, before starting them)."""
    started = time.perf_counter()
    try:
        n = store.write_snapshot()
    except store.MatcherUnavailable as e:
        raise click.ClickException(e.message) from None
    click.echo(f"snapshot of {n} volunteers written in {time.perf_counter() - started:.1f} s")


@matching.command("learn")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the bootstrap resampling (the same log gives the same intervals).")
def matching_learn(seed: int):
    """Learn the score's weights from the lists shown and what became of the invitations made
    from them; record them, with the offline comparison, for the town admin to switch on. The
    live weights do not change."""
    try:
        ws = tuning.learn(seed=seed)
    except tuning.TuningError as e:
        raise click.ClickException(e.message) from None
    db.session.commit()
    report = ws.report
    c = report["comparison"]
    click.echo(f"learned from {report['summary']['train_slates']} lists "
               f"({report['summary']['train_outcomes']} answered invitations, "
               f"{report['summary']['pairs']} pairs); judged on {c['slates']} later lists "
               f"({c['outcomes']} answered)")
    click.echo(f"place effect: eta {report['summary']['eta']} from "
               f"{report['summary']['position_source']}")
    click.echo(f"{'term':<18} {'in use':>8} {'learned':>8}")
    for term, value in ws.weights.items():
        click.echo(f"{term:<18} {report['current'][term]:>8.3f} {value:>8.3f}")
    click.echo("accepted within 24 h among the top five, per list (95% interval):")
    for name in ("snips", "dr"):
        a, b = c["current"][name], c["learned"][name]
        click.echo(f"  {name.upper():<6} in use {a['value']:.3f} [{a['low']:.3f}, {a['high']:.3f}]"
                   f"  learned {b['value']:.3f} [{b['low']:.3f}, {b['high']:.3f}]")
    click.echo(f"weight set {ws.id} is a candidate: the town admin switches it on at "
               f"/admin/matching/")


@matching.command("corpus-export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default="-",
              show_default=True, help="Where to write the JSON lines ('-': standard output).")
def matching_corpus_export(output: str):
    """Write the issues whose skills staff chose (a label the model may learn) as corpus lines
    for review: {"text", "skills", "inferred", "issue"}. Nothing is learned until a person
    copies reviewed lines into volunteer/data/skill_corpus.jsonl and trains again."""
    skills = records.taxonomy()[1]
    known = {s.code for s in skills}
    model = artefact.load(skills)
    rows = db.session.execute(db.select(Issue.id, Issue.title, Issue.description,
                                        Issue.skill_codes)
                              .where(Issue.skill_codes.is_not(None)).order_by(Issue.id))
    out = click.open_file(output, "w", encoding="utf-8")
    n = 0
    for issue_id, title, description, chosen in rows:
        chosen = [c for c in (chosen or []) if c in known]
        if not chosen:
            continue
        text = f"{title}。{description}" if description else title
        text = re.sub(r"\d{7,}", "…", text)  # no phone or identity numbers in a corpus
        inferred = [c for c, _p in model.predict(text)] if model else []
        out.write(json.dumps({"text": text, "skills": chosen, "inferred": inferred,
                              "issue": issue_id}, ensure_ascii=False) + "\n")
        n += 1
    if output != "-":
        out.close()
    click.echo(f"corpus-export: {n} issue(s) with skills chosen by staff", err=True)


@click.group()
def translate():
    """Translation commands (wrap pybabel with volunteer/babel.cfg)."""


def _pybabel(*args: str) -> None:
    cmd = [sys.executable, "-m", "babel.messages.frontend", *args]
    result = subprocess.run(cmd, cwd=PACKAGE_DIR.parent, check=False)
    if result.returncode:
        raise click.ClickException("pybabel failed: " + " ".join(args))


@translate.command()
def extract():
    """Extract messages into volunteer/translations/messages.pot."""
    _pybabel("extract", "-F", "volunteer/babel.cfg", "-k", "_l", "--no-location", "--sort-output",
             "-o", "volunteer/translations/messages.pot", ".")


@translate.command()
def update():
    """Extract, then merge new messages into every catalogue."""
    extract.callback()
    _pybabel("update", "-i", "volunteer/translations/messages.pot", "-d",
             "volunteer/translations", "--no-fuzzy-matching", "--ignore-obsolete")


@translate.command()
def compile():  # noqa: A001  (the pybabel verb)
    """Compile the catalogues to .mo files."""
    _pybabel("compile", "-d", "volunteer/translations")
