"""Sockets that carry a vehicle's channels: a TCP server per vehicle and an optional UDP sender.

Non-blocking throughout: the fleet's single thread reads whatever arrived, hands it to the
vehicle's endpoint, and writes what the channels queued. A peer that stops reading loses
streamed telemetry first (see ``channel``), then its connection. The TCP server's connections
are SRn_ link 0 (SITL's SERIAL0), the UDP output link 1.
"""

from __future__ import annotations

import errno
import socket
from abc import ABC, abstractmethod

from simulators.channel import Channel
from simulators.errors import EndpointUnavailable
from simulators.mavlink_endpoint import VehicleEndpoint
from simulators.streams import TCP_LINK, UDP_LINK

__all__ = ["Link", "TcpLink", "TcpListener", "UdpOutLink"]

_RECV_BYTES = 65536
_MAX_DATAGRAM = 8192


class Link(ABC):
    """A socket bound to one channel of one vehicle endpoint (TCP or UDP below)."""

    def __init__(self, sock: socket.socket, endpoint: VehicleEndpoint, channel: Channel) -> None:
        self.sock = sock
        self.endpoint = endpoint
        self.channel = channel
        self.closed = False

    def fileno(self) -> int:
        return self.sock.fileno()

    @abstractmethod
    def on_readable(self) -> None:
        """Read what arrived and let the endpoint handle it."""

    @abstractmethod
    def flush(self) -> None:
        """Write as much of the channel's queued bytes as the socket takes now."""

    def close(self) -> None:
        """Close the socket and detach the channel."""
        if not self.closed:
            self.closed = True
            self.endpoint.remove_channel(self.channel)
            self.sock.close()


class TcpLink(Link):
    """One accepted TCP connection."""

    def on_readable(self) -> None:
        try:
            data = self.sock.recv(_RECV_BYTES)
        except BlockingIOError:
            return
        except OSError:
            self.close()
            return
        if not data:
            self.close()
            return
        self.endpoint.receive(self.channel, data)

    def flush(self) -> None:
        out = self.channel.out
        if self.channel.closed:
            self.close()
            return
        if not out:
            return
        try:
            sent = self.sock.send(out)
        except BlockingIOError:
            return
        except OSError:
            self.close()
            return
        del out[:sent]


class UdpOutLink(Link):
    """Sends to a fixed UDP address and hears replies from it (SITL's ``--out udp:…``)."""

    def __init__(self, sock: socket.socket, endpoint: VehicleEndpoint, channel: Channel,
                 address: tuple[str, int]) -> None:
        super().__init__(sock, endpoint, channel)
        self.address = address

    def on_readable(self) -> None:
        try:
            data, _ = self.sock.recvfrom(_RECV_BYTES)
        except (BlockingIOError, ConnectionRefusedError):
            return  # ICMP "port unreachable" from an earlier send: nobody listening yet
        except OSError:
            return
        self.endpoint.receive(self.channel, data)

    def flush(self) -> None:
        out = self.channel.out
        while out:
            # whole queued messages only fit the datagram most of the time; a parser that
            # keeps its buffer across datagrams (pymavlink, MAVProxy) copes with a split.
            chunk = bytes(out[:_MAX_DATAGRAM])
            try:
                self.sock.sendto(chunk, self.address)
            except BlockingIOError:
                return
            except OSError:
                pass  # nobody listening: UDP telemetry is lost, as it would be over a radio
            del out[: len(chunk)]


class TcpListener:
    """The listening socket of one vehicle; accepted connections become new channels."""

    def __init__(self, host: str, port: int, endpoint: VehicleEndpoint,
                 stream_hz: float = 0.0) -> None:
        self.endpoint = endpoint
        self.stream_hz = stream_hz
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as exc:
            self.sock.close()
            hint = "is in use; stop the other simulator or pick another base port" \
                if exc.errno == errno.EADDRINUSE else f"cannot be opened ({exc.strerror})"
            raise EndpointUnavailable(
                f"TCP port {port} on {host} for vehicle {endpoint.sysid} {hint}", port=port
            ) from exc
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.host, self.port = self.sock.getsockname()[:2]

    def fileno(self) -> int:
        return self.sock.fileno()

    def accept(self) -> TcpLink | None:
        """The next waiting connection as a link, or None."""
        try:
            conn, peer = self.sock.accept()
        except (BlockingIOError, OSError):
            return None
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        channel = self.endpoint.add_channel(f"tcp:{peer[0]}:{peer[1]}", link=TCP_LINK,
                                            stream_hz=self.stream_hz)
        return TcpLink(conn, self.endpoint, channel)

    def close(self) -> None:
        self.sock.close()


def open_udp_out(host: str, port: int, endpoint: VehicleEndpoint,
                 stream_hz: float = 0.0) -> UdpOutLink:
    """A UDP link sending to ``host:port`` from an ephemeral local port (``stream_hz`` > 0:
    everything at that rate instead of the SR1_ rates)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host if host != "0.0.0.0" else "", 0))
    sock.setblocking(False)
    channel = endpoint.add_channel(f"udpout:{host}:{port}", link=UDP_LINK, stream_hz=stream_hz)
    return UdpOutLink(sock, endpoint, channel, (host, port))
