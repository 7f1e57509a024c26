"""One validated settings object for the service, read from `FLYONCE_*` environment variables.

Only `api/` reads settings; the domain packages take plain arguments (STYLE.md, habit 2).
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geofence import GeofenceError, local_tz
from geofence.localtime import DEFAULT_LOCAL_TZ

DEFAULT_DATA_DIR = Path("var")


class PersuasionRule(BaseModel):
    """Which events the drone's speaker warns first (api/enforcement/persuasion.py), with what, and how long
    it then watches. ``zone_kinds`` None means every kind; ``except_zone_kinds`` wins over it."""

    model_config = ConfigDict(extra="forbid")

    event_type: str = Field(examples=["street_stall"])
    zone_kinds: list[str] | None = None
    except_zone_kinds: list[str] = []
    clip_id: int | None = Field(None, ge=1, le=0xFFFF, description="A clip on the speaker's card.")
    text: str | None = Field(None, min_length=1, max_length=200, description="Spoken text (Chinese).")
    repeat: int = Field(2, ge=1, le=10)
    watch_s: float = Field(120.0, gt=0, description="Mission seconds the drone watches after the play.")
    gone_checks: int = Field(3, ge=1, description="Consecutive 'gone' scene checks that resolve it.")

    @model_validator(mode="after")
    def _one_message(self) -> PersuasionRule:
        if (self.clip_id is None) == (self.text is None):
            raise ValueError("a persuasion rule plays exactly one of clip_id or text")
        return self


class Settings(BaseSettings):
    """Service configuration; every field can be set as `FLYONCE_<NAME>`."""

    # An empty variable is an unset one (compose's ${VAR:-} of an optional secret, for one).
    model_config = SettingsConfigDict(env_prefix="FLYONCE_", env_file=".env", extra="ignore",
                                      env_ignore_empty=True)

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Where the SQLite file, media and secrets live.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; defaults to a SQLite file in data_dir."
    )
    media_dir: Path | None = Field(None, description="Evidence images; defaults to data_dir/media.")
    models_dir: Path | None = Field(
        None, description="Detector weights promoted by `flyonce model promote` and their "
        "manifest (models.json); defaults to data_dir/models. Until a first promotion the "
        "current weights are the shipped detection/weights/flyonce-yolo.pt.")
    redis_url: str | None = Field(
        None, description="With it, live alerts fan out across processes through Redis pub/sub."
    )
    redis_channel: str = "flyonce:alerts"
    secret_key: str | None = Field(
        None, description="Signs login tokens; defaults to a random key kept in data_dir/secret_key."
    )
    token_ttl_s: int = 12 * 3600
    max_upload_bytes: int = 8 * 1024 * 1024
    max_body_bytes: int = Field(
        16 * 1024 * 1024, description="Largest request body, bytes: refused with 413 before it is "
        "parsed. Fits an upload of max_upload_bytes, base64-encoded in JSON (4/3 of it) or in a form."
    )
    zones_file: Path | None = Field(
        None, description="GeoJSON of zones; defaults to geofence's sample town."
    )
    default_target_s: float = 300.0
    auto_evaluate: bool = Field(
        True, description="Freeze figures as soon as an event is resolved or rejected."
    )
    sim_clock: str | None = Field(
        None, description="A simulators SimClock spec: the service then reads mission time."
    )
    cors_origins: list[str] = Field(
        [], description="Origins other web sites may call the API from (CORS), as JSON: "
        "'[\"https://ops.example.gov.cn\"]'. Empty: no cross-origin access."
    )
    metrics_token: SecretStr | None = Field(
        None, description="With it, /metrics needs 'Authorization: Bearer <this>' (Prometheus's "
        "bearer_token); without it /metrics is open: keep it off the public proxy."
    )
    log_format: Literal["plain", "json"] = Field(
        "plain", description="plain: lines for a terminal; json: one JSON object a line "
        "(structlog), with event_id on every line about an event, for a log collector."
    )
    log_level: str = Field("INFO", description="Python logging level of the flyonce loggers.")
    # dispatch (api/fleet/dispatcher.py)
    fleet_file: Path | None = Field(
        None, description="TOML fleet file ([[drone]] id, url, dock = [lat, lon]); without it, "
        "drones registered with a mavlink_url are the fleet."
    )
    auto_assign: bool = Field(False, description="Fly the best drone as soon as an event is confirmed.")
    arrival_radius_m: float = Field(30.0, gt=0, description="On scene within this horizontal distance.")
    hold_alt_m: float = Field(30.0, gt=0, description="Cruise and hold altitude, metres above home.")
    hold_on_scene_s: float = Field(300.0, ge=0, description="Hold time the battery plan allows for.")
    no_fly_margin_m: float = Field(20.0, ge=0, description="Routes keep this far from no-fly zones.")
    telemetry_hz: float = Field(5.0, gt=0, description="Position stream rate asked of each drone.")
    dispatch_claim_lease_s: float = Field(
        60.0, gt=0, description="A service process that claimed an event for its drone and has "
        "not renewed the claim this long (mission s) while the event still waits may lose it to "
        "another process."
    )
    fleet_connect_timeout_s: float = Field(10.0, gt=0)
    warm_routes: bool = Field(
        True, description="Prepare every route's request handling at start-up (about a second "
        "of CPU) so the first requests after a start or a take-over do not wait for it. The test "
        "suite turns it off (tests/conftest.py): it is a third of the CPU of a test that starts "
        "the app, and tests/api/test_warm_routes.py checks it on."
    )
    leader_poll_s: float = Field(
        0.5, gt=0, le=10, description="How often (wall s) a `serve` process tries to become the "
        "cluster's leader (the one that auto-assigns, takes over drones and flies patrols), and "
        "the leader checks it still is; a dead leader is replaced within about this long."
    )
    # DJI docks (fleet URLs dji+mqtt://…): the organisation's secrets, never in the repository
    dji_mqtt_username: str | None = Field(None, description="MQTT user of the DJI docks' broker.")
    dji_mqtt_password: SecretStr | None = Field(None, description="Its password.")
    dji_app_id: str | None = Field(None, description="DJI developer app id (the docks' config).")
    dji_app_key: SecretStr | None = Field(None, description="DJI developer app key.")
    dji_app_license: SecretStr | None = Field(None, description="DJI developer app licence.")
    dji_ntp_server_host: str | None = Field(None, description="NTP server the docks sync with.")
    # live video (api/video; docs/video.md)
    video_sources: dict[str, str] = Field(
        {}, description="Drone id -> video URL (rtsp/rtmp/srt/http/file), beside the fleet file's "
        "`video` entries: for drones registered through the API or video from a separate gateway."
    )
    video_ring_s: float = Field(30.0, gt=0, le=600, description="Seconds of each stream kept "
                                "in memory for evidence clips.")
    video_clip_s: float = Field(20.0, gt=0, le=300, description="Length of an evidence clip, "
                                "centred on the detection.")
    video_auto_clip: bool = Field(True, description="Store a clip as evidence of every alerted "
                                  "event whose detecting drone has a stream.")
    video_detector: Literal["yolo", "off"] = Field(
        "yolo", description="Boxes on live video: the shipped YOLO weights, or none.")
    video_detect_hz: float = Field(2.0, gt=0, le=30, description="Detector looks per second at "
                                   "each stream (at most; fewer when the CPU is short).")
    video_detect_conf: float = Field(0.35, gt=0, lt=1, description="Least confidence of a box "
                                     "drawn on live video.")
    video_detect_imgsz: int = Field(832, ge=160, le=1920, description="Detector input size, px "
                                    "(832 suits 640x480 streams, as in the demo).")
    drone_state_period_s: float = Field(1.0, gt=0, description="Live drone states on the bus this often.")
    patrol_tick_s: float = Field(1.0, gt=0, description="How often due patrol flights are looked for (wall s).")
    patrol_late_s: float = Field(
        900.0, gt=0, description="A patrol flight whose drone is busy is retried this long after "
        "its planned start (mission s), then marked failed with the reason."
    )
    tile_url: str | None = Field(
        None, description="Map tiles for a real city ({z}/{x}/{y} URL); the sample town's orthophoto otherwise."
    )
    base_map: Literal["osm", "tianditu", "amap", "tencent"] | None = Field(
        None, description="A base-map preset (api/core/basemaps.py): OpenStreetMap, Tianditu "
        "(CGCS2000, drawn as WGS84; needs tianditu_key), AMap or Tencent (GCJ-02: the pages "
        "shift every WGS84 position onto them). tile_url, when also set, replaces its URL."
    )
    tile_datum: Literal["wgs84", "gcj02"] | None = Field(
        None, description="The datum of tile_url's tiles; the preset's by default, else wgs84."
    )
    tianditu_key: SecretStr | None = Field(None, description="Tianditu's browser key (tk).")
    public_base_url: str | None = Field(
        None, description="Where the public reaches this service (https://patrol.example.gov.cn): task "
        "codes' QR images encode {public_base_url}/c/{code}; defaults to the request's base URL."
    )
    # one violation, one event (api/lifecycle/merge.py)
    merge_radius_m: float = Field(
        15.0, ge=0, description="A candidate this close to an open event of its type is a further "
        "sighting of it, not a new event (0 turns merging off). Two looks at one stall can land "
        "this far apart: up to 6 m of georeference error each on real footage (GPS, altitude, "
        "gimbal) and a stall or vehicle 3 m across."
    )
    merge_window_s: float = Field(
        12 * 3600.0, gt=0, description="...and the open event was last seen at most this long "
        "before the candidate (mission s): a shift; an event left open longer is stale."
    )
    reject_quiet_s: float = Field(
        4 * 3600.0, ge=0, description="A rejected event absorbs look-alike repeats at its place "
        "for this long without alerting again (0: every repeat alerts)."
    )
    # first-offence leniency (api/lifecycle/offences.py) and hot spots (api/evaluation/hotspots.py)
    offence_radius_m: float = Field(
        50.0, gt=0, description="A confirmed violation of the same type this close counts as the same place."
    )
    offence_lookback_days: float = Field(
        90.0, gt=0, description="Earlier violations at the place count as repeats for this long."
    )
    offence_referral_repeats: int = Field(
        2, ge=1, description="Suggest referral instead of a penalty from this many earlier violations on."
    )
    local_tz: str = Field(
        DEFAULT_LOCAL_TZ, description="IANA time zone of hours of day (hot spots, suggested patrol "
        "times), of the pages' dates, and of a DJI .SRT's clock (geofence.local_tz reads the same "
        "FLYONCE_LOCAL_TZ)."
    )
    # remote persuasion (api/enforcement/persuasion.py); JSON in the environment, e.g.
    # FLYONCE_PERSUASION_RULES='[{"event_type":"street_stall","except_zone_kinds":["forest"],"clip_id":1}]'
    persuasion_rules: list[PersuasionRule] = Field(
        [], description="Events the drone warns through its speaker before a ground team is sent; "
        "none by default (every confirmed event gets drone and team together)."
    )

    # hand-off (api/handoff/webhooks.py): signed webhooks to a city's platforms
    webhook_urls: list[str] = Field(
        [], description="Receivers of confirmed, assigned, resolved and evaluated events, as "
        "JSON: '[\"https://ops.example.gov.cn/flyonce\"]'. Empty: no webhooks."
    )
    webhook_secret: SecretStr | None = Field(
        None, description="Signs every webhook (HMAC-SHA256); needed with webhook_urls."
    )
    webhook_poll_s: float = Field(1.0, gt=0, description="How often the leader looks for changes to send (wall s).")
    webhook_timeout_s: float = Field(5.0, gt=0, description="A receiver's answer is awaited this long.")
    webhook_backoff_s: float = Field(
        5.0, gt=0, description="First wait before a failed delivery is tried again (mission s); "
        "doubled after every failure, up to an hour."
    )
    webhook_max_attempts: int = Field(
        8, ge=1, le=100, description="Tries before a delivery is dead (an admin can replay it)."
    )
    # security basics
    login_max_failures_per_account: int = Field(
        5, ge=1, description="Failed logins to one account within login_window_s before it is refused (429)."
    )
    login_max_failures_per_client: int = Field(
        20, ge=1, description="Failed logins from one client address within login_window_s before it is refused (429)."
    )
    login_window_s: int = Field(300, ge=1, description="The window of the login limits (wall s).")

    @model_validator(mode="after")
    def _tianditu_keyed(self) -> Settings:
        if self.base_map == "tianditu" and self.tianditu_key is None and not self.tile_url:
            raise ValueError("FLYONCE_BASE_MAP=tianditu needs FLYONCE_TIANDITU_KEY (a browser key "
                             "from console.tianditu.gov.cn)")
        return self

    @model_validator(mode="after")
    def _webhooks_signed(self) -> Settings:
        if self.webhook_urls and self.webhook_secret is None:
            raise ValueError("FLYONCE_WEBHOOK_URLS needs FLYONCE_WEBHOOK_SECRET: every webhook is signed")
        for url in self.webhook_urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"webhook URL {url!r} must start with http:// or https://")
        return self

    @field_validator("max_upload_bytes", "max_body_bytes")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be positive")
        return value

    @field_validator("local_tz")
    @classmethod
    def _known_tz(cls, value: str) -> str:
        try:
            if not value.strip():
                raise GeofenceError("an empty time zone: use an IANA name such as Asia/Shanghai")
            local_tz(value)
        except GeofenceError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL to connect to (the SQLite default made absolute)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'flyonce.db').resolve()}"

    @property
    def resolved_media_dir(self) -> Path:
        return (self.media_dir or self.data_dir / "media").resolve()

    @property
    def resolved_models_dir(self) -> Path:
        return (self.models_dir or self.data_dir / "models").resolve()

    def resolved_secret_key(self) -> str:
        """The token-signing key; a random one is created once and kept beside the data."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
