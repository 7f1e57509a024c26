"""exactly once: sightings merged into events, dispatch and drone claims

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 16:00:00

Every event gets its first sighting (the candidate that opened it) and ``last_seen_at``
(its detection time), so events stored before this migration merge like new ones.
"""
import sqlalchemy as sa
from alembic import op

import api.core.models

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('candidates', sa.Integer(), server_default='1',
                                      nullable=False))
        batch_op.add_column(sa.Column('last_seen_at', api.core.models.UTCDateTime(),
                                      nullable=True))
    op.create_table(
        'sightings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=128), nullable=False),
        sa.Column('source_event_id', sa.String(length=128), nullable=False),
        sa.Column('drone_id', sa.String(length=64), nullable=True),
        sa.Column('detected_at', api.core.models.UTCDateTime(), nullable=False),
        sa.Column('lat', sa.Float(), nullable=False),
        sa.Column('lon', sa.Float(), nullable=False),
        sa.Column('confidence', sa.Float(), nullable=False),
        sa.Column('position_error_m', sa.Float(), nullable=True),
        sa.Column('frames', sa.Integer(), nullable=False),
        sa.Column('distance_m', sa.Float(), nullable=True),
        sa.Column('evidence_id', sa.Integer(), nullable=True),
        sa.Column('box_xyxy', sa.String(length=64), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ),
        sa.ForeignKeyConstraint(['evidence_id'], ['evidence.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source', 'source_event_id', name='uq_sightings_source_key'),
    )
    with op.batch_alter_table('sightings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sightings_event_id'), ['event_id'], unique=False)
    op.create_table(
        'dispatch_claims',
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('owner', sa.String(length=128), nullable=False),
        sa.Column('claimed_at', api.core.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ),
        sa.PrimaryKeyConstraint('event_id'),
    )
    op.create_table(
        'drone_claims',
        sa.Column('drone_id', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('owner', sa.String(length=128), nullable=False),
        sa.Column('claimed_at', api.core.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ),
        sa.PrimaryKeyConstraint('drone_id'),
    )
    # Events stored before: their opening candidate becomes their first sighting.
    op.execute("UPDATE events SET last_seen_at = detected_at")
    op.execute(
        "INSERT INTO sightings (event_id, kind, source, source_event_id, drone_id, detected_at, "
        "lat, lon, confidence, position_error_m, frames, note) "
        "SELECT id, 'first', source, source_event_id, detector_drone_id, detected_at, lat, lon, "
        "confidence, position_error_m, sightings, report_note FROM events")


def downgrade() -> None:
    op.drop_table('drone_claims')
    op.drop_table('dispatch_claims')
    with op.batch_alter_table('sightings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sightings_event_id'))
    op.drop_table('sightings')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('candidates')
