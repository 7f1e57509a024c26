"""Simulated DJI docks (Dock 2 / Dock 3 with a Matrice 3D-class aircraft and a PSDK speaker)
speaking DJI's Cloud API thing model over MQTT, for tests and ``flyonce sim --dji-docks N``.

``Fleet.start(..., dji_docks=[...])`` starts them beside the MAVLink copters, stepped by the
same thread and clock; each aircraft is a ``simulators.vehicle.Vehicle`` (one flight model for
both protocols). docs/dji.md tables what is implemented and refused, with DJI's pages.

Where the simulated dock deviates from a real one:

- Services answered: flight_authority_grab, takeoff_to_point, fly_to_point,
  fly_to_point_stop, return_home, speaker_tts_play_start, speaker_audio_play_start,
  speaker_replay, speaker_play_stop, speaker_play_volume_set, speaker_play_mode_set,
  live_start_push, live_stop_push; any other method is answered 514100 (command not supported).
  No waylines (flighttask_*), DRC, cameras, media, firmware, remote debugging or HMS.
- Timings are ours, not DJI's: cover 10 s each way, 10 s aircraft readiness after the cover
  opens, charging 2.2 %/min (DJI Dock 2's 20→90 % in about 32 min). Progress events go once a
  mission second (DJI gives no rate); osd at the documented 0.5 Hz.
- The cloud's flight authority is granted unless a pilot holds the aircraft (``take_over``:
  327012). takeoff_to_point climbs to ``security_takeoff_height`` and flies straight to the
  target at the target's height (``commander_flight_height`` is checked, not used);
  ``rth_altitude`` becomes RTL_ALT. Heights: the dock's "height" is its home altitude and the
  aircraft's is that plus its elevation (no geoid).
- Which code a refusal gets where DJI documents none: fly_to_point with the aircraft in the
  dock 319022, a speaker play with the aircraft powered off 514120, a take-off whose aircraft
  fails its arming checks 321524; a bad field 514171.
- The terminal event of each task (wayline_ok, wayline_failed, wayline_cancel, task_finish,
  the speaker's "ok") carries need_reply 1; the others 0.
- A dropped link (``drop_link``) silences the dock both ways; the aircraft keeps to its last
  command (rc_lost_action is not simulated). The dock asks ``config`` (requests) once when it
  comes online and records the answer without checking it (no licence check).
- Nothing is downloaded: an audio file's URL and MD5 are checked for form only.
"""

from simulators.dji.dock import Dock, DockConfig
from simulators.dji.endpoint import DockEndpoints
from simulators.dji.handle import SimDock
from simulators.dji.payloads import Play

__all__ = ["Dock", "DockConfig", "DockEndpoints", "Play", "SimDock"]
