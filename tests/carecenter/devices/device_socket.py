"""What every simulated device's TCP connection does, whatever its protocol."""

import socket


class DeviceSocket:
    def __init__(self, port: int, source: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
        self.unread = b""  # bytes received and not yet taken as an answer

    def raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, timeout: float) -> bytes:
        """Bytes the server sent; fails if the server closed the connection."""
        self.sock.settimeout(timeout)
        data = self.sock.recv(4096)
        assert data, "the server closed the connection"
        return data

    def nothing_within(self, seconds: float) -> bool:
        """Nothing (and no close) within `seconds`."""
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(4096)
        except TimeoutError:
            return True
        self.unread += data
        return False

    def closed_by_server(self, timeout: float = 5) -> bool:
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(4096):
                    return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()
