"""outbox: messages leave after the commit; SMS and WeChat as channels

Revision ID: 0015_outbox
Revises: 0014_service_item_english
Create Date: 2026-11-29 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_outbox'
down_revision = '0014_service_item_english'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outbox_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('template', sa.String(length=20), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('event', sa.String(length=24), nullable=False),
        sa.Column('issue_id', sa.Integer(), nullable=True),
        sa.Column('invitation_id', sa.Integer(), nullable=True),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('skill_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('lease_until', sa.DateTime(), nullable=True),
        sa.Column('claim', sa.String(length=32), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                                name=op.f('fk_outbox_message_user_id_user'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['issue_id'], ['issue.id'],
                                name=op.f('fk_outbox_message_issue_id_issue'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'],
                                name=op.f('fk_outbox_message_invitation_id_invitation'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['service_session.id'],
                                name=op.f('fk_outbox_message_session_id_service_session'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['skill_id'], ['volunteer_skill.id'],
                                name=op.f('fk_outbox_message_skill_id_volunteer_skill'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    )
    op.create_index('ix_outbox_message_due', 'outbox_message', ['status', 'next_attempt_at'])
    op.create_index(op.f('ix_outbox_message_user_id'), 'outbox_message', ['user_id'])
    op.create_index(op.f('ix_outbox_message_created_at'), 'outbox_message', ['created_at'])
    with op.batch_alter_table('notification_setting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('wechat', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_consent_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('wechat_openid', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('wechat_openid')
        batch_op.drop_column('sms_consent_at')
    with op.batch_alter_table('notification_setting', schema=None) as batch_op:
        batch_op.drop_column('wechat')
        batch_op.drop_column('sms')
    op.drop_index(op.f('ix_outbox_message_created_at'), table_name='outbox_message')
    op.drop_index(op.f('ix_outbox_message_user_id'), table_name='outbox_message')
    op.drop_index('ix_outbox_message_due', table_name='outbox_message')
    op.drop_table('outbox_message')
