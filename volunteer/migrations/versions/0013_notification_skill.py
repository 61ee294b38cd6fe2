"""notification skill: the skill a notice about a verification is about

Revision ID: 0013_notification_skill
Revises: 0012_issue_address
Create Date: 2026-11-29 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_notification_skill'
down_revision = '0012_issue_address'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skill_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notification_skill_id_volunteer_skill'),
                                    'volunteer_skill', ['skill_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notification_skill_id_volunteer_skill'),
                                 type_='foreignkey')
        batch_op.drop_column('skill_id')
