"""flyonce simulators: the outside world for tests and the demo.

The MAVLink copter fleet (``simulators.fleet.Fleet``, ``flyonce sim``) stands in for ArduCopter
SITL as described in shared/MAVLINK.md; the synthetic town and its camera live in
``simulators.town`` and ``simulators.camera``. Importing this package imports nothing heavy.

Where the simulated copters deviate from ArduCopter (4.5):

- Physics is kinematic: velocity demands are met within WPNAV_ACCEL / WPNAV_ACCEL_Z, no jerk
  limits or S-curves; the physics step (default 0.1 s) caps every stream at 10 Hz mission time.
- Stream rates and all timers are mission time (as SITL's), so at 20x a 4 Hz stream arrives at
  80 Hz wall, and FS_GCS_TIMEOUT counts mission seconds.
- Every link streams unasked: the SRn_ parameters (SR0_ for TCP, SR1_ for the UDP output)
  default to 4 Hz per group, where ArduCopter ships 0 (HEARTBEAT only until asked). A ground
  station that asks for nothing (MAVSDK, QGroundControl, a pymavlink script) thus sees what it
  would behind sim_vehicle.py's MAVProxy; ``Fleet.start(stream_hz=0)`` / ``flyonce sim
  --stream-hz 0`` restores ArduCopter's silence. SRn_ changes apply to connections opened
  afterwards (ArduPilot: after a reboot); a REQUEST_DATA_STREAM changes its own connection only.
  EXTENDED_SYS_STATE rides in EXTRA3. See ``simulators.streams``.
- The GPS has its fix at boot unless SIM_GPS_LCKTIME (SITL's name) delays it; there is no
  separate EKF convergence, so prearm checks pass as soon as the fix is there.
- Geofence (``simulators.fence``): FENCE_ENABLE / MAV_CMD_DO_FENCE_ENABLE, FENCE_TYPE max
  altitude, circle and uploaded inclusion/exclusion polygons and circles, FENCE_ACTION 0-5
  (SmartRTL, not simulated, falls back to RTL or LAND as ArduCopter's does when it cannot),
  FENCE_STATUS and the SYS_STATUS geofence bit, the "vehicle outside … fence" prearm check. No
  minimum-altitude fence, FENCE_AUTOENABLE, FENCE_OPTIONS or backup fences; breaches are
  checked every physics step (ArduCopter: 1 Hz) and clear once back inside.
- Rally points (mission type RALLY): RTL flies at the RTL altitude to the rally point
  AP_Rally would pick (RALLY_LIMIT_KM, RALLY_INCL_HOME) and lands there; the rally point's own
  altitude is not used.
- STABILIZE without a pilot holds altitude and drifts with the wind (no RC input is simulated).
- Wind (SIM_WIND_SPD/DIR/TURB) never blows the copter off a held position; gusts jitter it and
  the airspeed limit (15 m/s) slows it into a headwind. Battery voltage is linear in charge
  (4.2 -> 3.3 V per cell), with no sag; a failed battery loses one cell. At 0 % it lands.
- Parameter defaults that differ: WPNAV_SPEED 1200 (cruise 12 m/s, capped at 15),
  BATT_FS_LOW_ACT 2 (RTL), BATT_LOW_VOLT 14.0 V (4S pack). Only the listed parameters exist.
- SET_MODE gets no COMMAND_ACK (ArduPilot sends one for id 11). SET_POSITION_TARGET_GLOBAL_INT
  takes positions only (velocity-only masks are ignored). Plan types other than mission,
  fence and rally get MAV_MISSION_UNSUPPORTED. Out-of-order mission items are ignored rather
  than NAKed; the vehicle re-asks after 1 s of silence (scaled by the speed-up).
- DO_REPOSITION on the ground is FAILED ("take off first"). Any do-command in a mission other
  than DO_CHANGE_SPEED is skipped. Terrain frames are treated as relative to home.
- Each new connection gets a HEARTBEAT at once; ACKs precede requested messages.
- The GCS failsafe counts heartbeats from SYSID_MYGCS (255, pymavlink's and MAVProxy's default).
- Every copter carries a loudspeaker (``simulators.speaker``) standing in for an on-board Lua
  script: MAV_CMD_DO_SEND_SCRIPT_MESSAGE (217) and TUNNEL text uploads are answered as that
  script would; ``Fleet.start(speakers=[False, …])`` leaves it off (217 is then UNSUPPORTED).
"""
