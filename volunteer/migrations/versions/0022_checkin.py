"""QR check-in and check-out at sessions and tasks: one row per invitation (a session's staff,
an issue's helper) or resident's sign-up, with the times and the phone's position

Revision ID: 0022_checkin
Revises: 0021_offline
Create Date: 2026-12-02 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_checkin'
down_revision = '0021_offline'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'check_in',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('invitation_id', sa.Integer(), nullable=True),
        sa.Column('signup_id', sa.Integer(), nullable=True),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('issue_id', sa.Integer(), nullable=True),
        sa.Column('checked_in_at', sa.DateTime(), nullable=False),
        sa.Column('checkin_via', sa.String(length=10), nullable=False),
        sa.Column('checkin_lat', sa.Float(), nullable=True),
        sa.Column('checkin_lon', sa.Float(), nullable=True),
        sa.Column('checkin_accuracy_m', sa.Float(), nullable=True),
        sa.Column('checked_out_at', sa.DateTime(), nullable=True),
        sa.Column('checkout_via', sa.String(length=10), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'],
                                name=op.f('fk_check_in_invitation_id_invitation'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['issue_id'], ['issue.id'],
                                name=op.f('fk_check_in_issue_id_issue'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['service_session.id'],
                                name=op.f('fk_check_in_session_id_service_session'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['signup_id'], ['session_signup.id'],
                                name=op.f('fk_check_in_signup_id_session_signup'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_check_in_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_check_in')),
        sa.UniqueConstraint('invitation_id', name=op.f('uq_check_in_invitation_id')),
        sa.UniqueConstraint('signup_id', name=op.f('uq_check_in_signup_id')),
    )
    with op.batch_alter_table('check_in', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_in_issue_id'), ['issue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_check_in_session_id'), ['session_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_check_in_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('check_in', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_in_user_id'))
        batch_op.drop_index(batch_op.f('ix_check_in_session_id'))
        batch_op.drop_index(batch_op.f('ix_check_in_issue_id'))
    op.drop_table('check_in')
