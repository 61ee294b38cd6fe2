"""helper plans: a leader's proposed invitations across many needs

Revision ID: 0019_plan
Revises: 0018_district
Create Date: 2026-11-29 23:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_plan'
down_revision = '0018_district'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'plan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('period_from', sa.DateTime(), nullable=False),
        sa.Column('period_until', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('total_score', sa.Float(), nullable=False),
        sa.Column('greedy_score', sa.Float(), nullable=False),
        sa.Column('places', sa.Integer(), nullable=False),
        sa.Column('filled', sa.Integer(), nullable=False),
        sa.Column('greedy_filled', sa.Integer(), nullable=False),
        sa.Column('covered', sa.Integer(), nullable=False),
        sa.Column('greedy_covered', sa.Integer(), nullable=False),
        sa.Column('solve_ms', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'],
                                name=op.f('fk_plan_created_by_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan')),
    )
    op.create_index(op.f('ix_plan_created_by_id'), 'plan', ['created_by_id'])
    op.create_table(
        'plan_need',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('issue_id', sa.Integer(), nullable=True),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('starts_at', sa.DateTime(), nullable=True),
        sa.Column('ends_at', sa.DateTime(), nullable=True),
        sa.Column('places', sa.Integer(), nullable=False),
        sa.Column('skills', sa.JSON(), nullable=True),
        sa.Column('uncovered', sa.String(length=16), nullable=True),
        sa.Column('alternatives', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['issue_id'], ['issue.id'],
                                name=op.f('fk_plan_need_issue_id_issue'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['plan_id'], ['plan.id'],
                                name=op.f('fk_plan_need_plan_id_plan'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['service_session.id'],
                                name=op.f('fk_plan_need_session_id_service_session'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_need')),
    )
    op.create_index(op.f('ix_plan_need_plan_id'), 'plan_need', ['plan_id'])
    op.create_index(op.f('ix_plan_need_issue_id'), 'plan_need', ['issue_id'])
    op.create_index(op.f('ix_plan_need_session_id'), 'plan_need', ['session_id'])
    op.create_table(
        'plan_item',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('need_id', sa.Integer(), nullable=False),
        sa.Column('volunteer_id', sa.Integer(), nullable=False),
        sa.Column('by_hand', sa.Boolean(), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('distance_m', sa.Integer(), nullable=True),
        sa.Column('fit', sa.Integer(), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.Column('invitation_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'],
                                name=op.f('fk_plan_item_invitation_id_invitation'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['need_id'], ['plan_need.id'],
                                name=op.f('fk_plan_item_need_id_plan_need'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['volunteer_id'], ['user.id'],
                                name=op.f('fk_plan_item_volunteer_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_item')),
        sa.UniqueConstraint('need_id', 'volunteer_id', name='uq_plan_item_need_volunteer'),
    )
    op.create_index(op.f('ix_plan_item_need_id'), 'plan_item', ['need_id'])
    op.create_index(op.f('ix_plan_item_volunteer_id'), 'plan_item', ['volunteer_id'])
    op.create_index(op.f('ix_plan_item_invitation_id'), 'plan_item', ['invitation_id'])


def downgrade():
    op.drop_table('plan_item')
    op.drop_table('plan_need')
    op.drop_table('plan')
