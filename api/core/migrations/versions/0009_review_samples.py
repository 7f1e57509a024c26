"""review → retrain: labelled samples from operators' verdicts, model versions, and the model
version that found each candidate

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:00:00
"""
import sqlalchemy as sa
from alembic import op

import api.core.models

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model_version', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_events_model_version'), ['model_version'],
                              unique=False)
    with op.batch_alter_table('sightings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model_version', sa.String(length=64), nullable=True))
    op.create_table(
        'review_samples',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('evidence_id', sa.Integer(), nullable=False),
        sa.Column('verdict', sa.String(length=8), nullable=False),
        sa.Column('type', sa.String(length=32), nullable=False),
        sa.Column('detected_type', sa.String(length=32), nullable=False),
        sa.Column('box_xyxy', sa.String(length=64), nullable=False),
        sa.Column('detected_box_xyxy', sa.String(length=64), nullable=True),
        sa.Column('corrected', sa.Boolean(), nullable=False),
        sa.Column('model_version', sa.String(length=64), nullable=True),
        sa.Column('reviewed_by', sa.String(length=64), nullable=False),
        sa.Column('reviewed_at', api.core.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ),
        sa.ForeignKeyConstraint(['evidence_id'], ['evidence.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('review_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_samples_event_id'), ['event_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_review_samples_model_version'), ['model_version'],
                              unique=False)
    op.create_table(
        'model_versions',
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('parent', sa.String(length=64), nullable=True),
        sa.Column('figures', sa.Text(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('first_seen_at', api.core.models.UTCDateTime(), nullable=True),
        sa.Column('promoted_at', api.core.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('version'),
    )


def downgrade() -> None:
    op.drop_table('model_versions')
    with op.batch_alter_table('review_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_samples_model_version'))
        batch_op.drop_index(batch_op.f('ix_review_samples_event_id'))
    op.drop_table('review_samples')
    with op.batch_alter_table('sightings', schema=None) as batch_op:
        batch_op.drop_column('model_version')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_model_version'))
        batch_op.drop_column('model_version')
