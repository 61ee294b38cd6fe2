"""An issue's events by kind: (issue_id, action, created_at) replaces the index on issue_id
alone, so that tick's "flagged overdue since it was resolved?" is a probe of the index even
when the planner's statistics are stale (after a big import)

Revision ID: 0023_issue_event_action
Revises: 0022_checkin
Create Date: 2026-12-03 09:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0023_issue_event_action'
down_revision = '0022_checkin'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issue_event', schema=None) as batch_op:
        batch_op.create_index('ix_issue_event_issue_action', ['issue_id', 'action', 'created_at'],
                              unique=False)
        batch_op.drop_index('ix_issue_event_issue_id')


def downgrade():
    with op.batch_alter_table('issue_event', schema=None) as batch_op:
        batch_op.create_index('ix_issue_event_issue_id', ['issue_id'], unique=False)
        batch_op.drop_index('ix_issue_event_issue_action')
