"""emergency call-ups: the call-up, its grids and skills, each called volunteer's answer and
attendance; call-up notices and hours; hours to the quarter hour; "don't call me at night"

Revision ID: 0020_callup
Revises: 0019_plan
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_callup'
down_revision = '0019_plan'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'call_up',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('town_id', sa.Integer(), nullable=False),
        sa.Column('village_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('details', sa.Text(), nullable=True),
        sa.Column('radius_km', sa.Float(), nullable=True),
        sa.Column('point_id', sa.Integer(), nullable=True),
        sa.Column('muster', sa.String(length=200), nullable=False),
        sa.Column('muster_lat', sa.Float(), nullable=False),
        sa.Column('muster_lon', sa.Float(), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=False),
        sa.Column('needed', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('quorum_at', sa.DateTime(), nullable=True),
        sa.Column('reminded_at', sa.DateTime(), nullable=True),
        sa.Column('summary', sa.Text(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['closed_by_id'], ['user.id'],
                                name=op.f('fk_call_up_closed_by_id_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'],
                                name=op.f('fk_call_up_created_by_id_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['point_id'], ['grid_point.id'],
                                name=op.f('fk_call_up_point_id_grid_point'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['town_id'], ['town.id'], name=op.f('fk_call_up_town_id_town')),
        sa.ForeignKeyConstraint(['village_id'], ['village.id'],
                                name=op.f('fk_call_up_village_id_village')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_call_up')),
    )
    with op.batch_alter_table('call_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_up_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_up_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_up_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_up_town_id'), ['town_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_up_village_id'), ['village_id'], unique=False)

    op.create_table(
        'call_up_grid',
        sa.Column('callup_id', sa.Integer(), nullable=False),
        sa.Column('grid_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['callup_id'], ['call_up.id'],
                                name=op.f('fk_call_up_grid_callup_id_call_up'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['grid_id'], ['grid.id'],
                                name=op.f('fk_call_up_grid_grid_id_grid'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('callup_id', 'grid_id', name=op.f('pk_call_up_grid')),
    )
    op.create_table(
        'call_up_skill',
        sa.Column('callup_id', sa.Integer(), nullable=False),
        sa.Column('skill_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['callup_id'], ['call_up.id'],
                                name=op.f('fk_call_up_skill_callup_id_call_up'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['skill_id'], ['skill.id'],
                                name=op.f('fk_call_up_skill_skill_id_skill'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('callup_id', 'skill_id', name=op.f('pk_call_up_skill')),
    )
    op.create_table(
        'call_up_response',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('callup_id', sa.Integer(), nullable=False),
        sa.Column('volunteer_id', sa.Integer(), nullable=False),
        sa.Column('grid_id', sa.Integer(), nullable=True),
        sa.Column('notice', sa.String(length=10), nullable=False),
        sa.Column('busy', sa.Boolean(), nullable=False),
        sa.Column('answer', sa.String(length=10), nullable=False),
        sa.Column('answered_at', sa.DateTime(), nullable=True),
        sa.Column('checked_in_at', sa.DateTime(), nullable=True),
        sa.Column('checkin_via', sa.String(length=10), nullable=True),
        sa.Column('checkin_lat', sa.Float(), nullable=True),
        sa.Column('checkin_lon', sa.Float(), nullable=True),
        sa.Column('checkin_accuracy_m', sa.Float(), nullable=True),
        sa.Column('checked_out_at', sa.DateTime(), nullable=True),
        sa.Column('checkout_via', sa.String(length=10), nullable=True),
        sa.Column('hours', sa.Numeric(precision=4, scale=2), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['callup_id'], ['call_up.id'],
                                name=op.f('fk_call_up_response_callup_id_call_up'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['grid_id'], ['grid.id'],
                                name=op.f('fk_call_up_response_grid_id_grid'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['volunteer_id'], ['user.id'],
                                name=op.f('fk_call_up_response_volunteer_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_call_up_response')),
        sa.UniqueConstraint('callup_id', 'volunteer_id', name='uq_call_up_response_volunteer'),
    )
    with op.batch_alter_table('call_up_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_up_response_callup_id'), ['callup_id'],
                              unique=False)
        batch_op.create_index('ix_call_up_response_volunteer_answer', ['volunteer_id', 'answer'],
                              unique=False)

    # Hours to two places: a call-up's check-in to check-out is rounded to the quarter hour.
    with op.batch_alter_table('hours_correction', schema=None) as batch_op:
        for column in ('old_hours', 'new_hours'):
            batch_op.alter_column(column, existing_type=sa.Numeric(precision=4, scale=1),
                                  type_=sa.Numeric(precision=5, scale=2), existing_nullable=False)

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('callup_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notification_callup_id'), ['callup_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_notification_callup_id_call_up'), 'call_up',
                                    ['callup_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('callup_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_callup_id'), ['callup_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_message_callup_id_call_up'),
                                    'call_up', ['callup_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('service_hours', schema=None) as batch_op:
        batch_op.add_column(sa.Column('callup_id', sa.Integer(), nullable=True))
        batch_op.alter_column('hours', existing_type=sa.Numeric(precision=4, scale=1),
                              type_=sa.Numeric(precision=5, scale=2), existing_nullable=False)
        batch_op.create_index(batch_op.f('ix_service_hours_callup_id'), ['callup_id'],
                              unique=False)
        batch_op.create_unique_constraint('uq_service_hours_callup_volunteer',
                                          ['callup_id', 'volunteer_id'])
        batch_op.create_foreign_key(batch_op.f('fk_service_hours_callup_id_call_up'), 'call_up',
                                    ['callup_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('volunteer_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('no_night_calls', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('volunteer_profile', schema=None) as batch_op:
        batch_op.drop_column('no_night_calls')

    with op.batch_alter_table('service_hours', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_service_hours_callup_id_call_up'),
                                 type_='foreignkey')
        batch_op.drop_constraint('uq_service_hours_callup_volunteer', type_='unique')
        batch_op.drop_index(batch_op.f('ix_service_hours_callup_id'))
        batch_op.alter_column('hours', existing_type=sa.Numeric(precision=5, scale=2),
                              type_=sa.Numeric(precision=4, scale=1), existing_nullable=False)
        batch_op.drop_column('callup_id')

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_message_callup_id_call_up'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_message_callup_id'))
        batch_op.drop_column('callup_id')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notification_callup_id_call_up'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notification_callup_id'))
        batch_op.drop_column('callup_id')

    with op.batch_alter_table('hours_correction', schema=None) as batch_op:
        for column in ('old_hours', 'new_hours'):
            batch_op.alter_column(column, existing_type=sa.Numeric(precision=5, scale=2),
                                  type_=sa.Numeric(precision=4, scale=1), existing_nullable=False)

    with op.batch_alter_table('call_up_response', schema=None) as batch_op:
        batch_op.drop_index('ix_call_up_response_volunteer_answer')
        batch_op.drop_index(batch_op.f('ix_call_up_response_callup_id'))
    op.drop_table('call_up_response')
    op.drop_table('call_up_skill')
    op.drop_table('call_up_grid')
    with op.batch_alter_table('call_up', schema=None) as batch_op:
        for name in ('village_id', 'town_id', 'status', 'starts_at', 'created_at'):
            batch_op.drop_index(batch_op.f(f'ix_call_up_{name}'))
    op.drop_table('call_up')
