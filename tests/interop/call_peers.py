"""Light WebRTC peers for lanchat's calls, on aiortc: one presenter that
shares a synthetic "screen" in a room's call, and N viewers that watch it.

Run by tests/calls_interop.rs (and by hand):

    call_peers.py ws://127.0.0.1:PORT ROOM VIEWERS FRAMES DEADLINE

Each peer is a real client: it claims a name over the WebSocket, joins the
room, joins the call, offers, answers the server's offers, and (viewers)
decodes what arrives, until every viewer has decoded FRAMES frames or
DEADLINE seconds have passed. One asyncio loop holds them all, so 30
viewers cost one Python process. It prints one JSON line: what each viewer
received.

The presenter paints each frame's number on it (BITS stripes, black or
white), and each viewer reads the numbers back from what it decodes, so
the test knows the pictures are the presenter's, in order.
"""

import asyncio
import json
import sys
import time

import av
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.mediastreams import VIDEO_TIME_BASE

# The shared "screen": small enough that 30 decoders fit on two cores.
WIDTH, HEIGHT, FPS = 640, 360, 15
# A frame's number, in stripes as wide as VP8's blocks are many, so lossy
# coding cannot blur one bit into the next.
BITS = 16
STRIPE = WIDTH // BITS
DARK, LIGHT = 16, 235


def paint(frame, number):
    """Writes `number` on a yuv420p frame: bit i is stripe i, left first."""
    luma = b"".join(
        bytes([LIGHT if number >> (BITS - 1 - i) & 1 else DARK]) * STRIPE
        for i in range(BITS)
    )
    y = frame.planes[0]
    y.update((luma + bytes(y.line_size - WIDTH)) * HEIGHT)
    for plane in frame.planes[1:]:
        plane.update(bytes([128]) * plane.buffer_size)


def read(frame):
    """The number painted on a decoded frame (its middle row's stripes)."""
    y = frame.planes[0]
    row = bytes(y)[(frame.height // 2) * y.line_size :][: frame.width]
    stripe = frame.width // BITS
    number = 0
    for i in range(BITS):
        number = number << 1 | (row[i * stripe + stripe // 2] > 128)
    return number


class Screen(VideoStreamTrack):
    """Numbered frames at WIDTH x HEIGHT, FPS frames a second."""

    kind = "video"

    def __init__(self):
        super().__init__()
        self.count = 0
        self.start = None

    async def recv(self):
        if self.start is None:
            self.start = time.monotonic()
        self.count += 1
        due = self.start + self.count / FPS
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        frame = av.VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
        paint(frame, self.count)
        frame.pts = int(self.count * VIDEO_TIME_BASE.denominator / FPS)
        frame.time_base = VIDEO_TIME_BASE
        return frame


class Peer:
    """One lanchat user in the room's call."""

    def __init__(self, base, name, room, enough=None):
        self.url = f"{base}/ws/{name}"
        self.name = name
        self.room = room
        self.ws = None
        self.pc = RTCPeerConnection()
        self.frames = 0
        self.size = None
        # The numbers painted on the frames decoded: first, last, and
        # whether each was above the one before.
        self.first = None
        self.last = None
        self.ordered = True
        # Set once FRAMES frames are decoded.
        self.enough = enough
        self.decoded = asyncio.Event()
        self.joined = asyncio.Event()
        self.answered = asyncio.Event()
        self.signalling = asyncio.Lock()
        self.errors = []

    async def connect(self):
        self.ws = await websockets.connect(
            self.url, subprotocols=["lanchat", "claim"], max_size=None
        )
        while True:
            frame = json.loads(await self.ws.recv())
            if frame["type"] == "welcome":
                return frame

    async def send(self, frame):
        await self.ws.send(json.dumps(frame))

    async def expect(self, kind):
        while True:
            frame = json.loads(await self.ws.recv())
            if frame["type"] == kind:
                return frame
            if frame["type"] == "error":
                raise RuntimeError(f"{self.name}: {frame}")

    async def listen(self):
        """Answers the server's offers; notes the answer to ours."""
        async for text in self.ws:
            frame = json.loads(text)
            kind = frame["type"]
            if kind == "call_joined":
                self.joined.set()
            elif kind == "call_answer":
                async with self.signalling:
                    await self.pc.setRemoteDescription(
                        RTCSessionDescription(frame["sdp"], "answer")
                    )
                self.answered.set()
            elif kind == "call_offer":
                await self.answered.wait()
                async with self.signalling:
                    await self.pc.setRemoteDescription(
                        RTCSessionDescription(frame["sdp"], "offer")
                    )
                    answer = await self.pc.createAnswer()
                    await self.pc.setLocalDescription(answer)
                    await self.send(
                        {
                            "type": "call_answer",
                            "room": self.room,
                            "sdp": self.pc.localDescription.sdp,
                        }
                    )
            elif kind == "error":
                self.errors.append(frame)

    async def offer(self, tracks):
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        roles = {}
        for transceiver in self.pc.getTransceivers():
            role = tracks.get(id(transceiver))
            if role:
                roles[transceiver.mid] = role
        await self.send(
            {
                "type": "call_offer",
                "room": self.room,
                "sdp": self.pc.localDescription.sdp,
                "tracks": roles,
            }
        )

    def watch(self):
        @self.pc.on("track")
        def on_track(track):
            if track.kind == "video":
                asyncio.ensure_future(self.count(track))

    async def count(self, track):
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            self.frames += 1
            self.size = [frame.width, frame.height]
            number = read(frame)
            if self.last is not None and number <= self.last:
                self.ordered = False
            if self.first is None:
                self.first = number
            self.last = number
            if self.frames >= self.enough:
                self.decoded.set()


async def main(base, room, viewers, frames, deadline):
    give_up = time.monotonic() + deadline

    def left():
        return max(0.0, give_up - time.monotonic())

    presenter = Peer(base, f"{room}-presenter", room)
    await presenter.connect()
    await presenter.send({"type": "create_room", "room": room})
    await presenter.expect("room")
    audience = [Peer(base, f"{room}-viewer{i}", room, frames) for i in range(viewers)]
    for viewer in audience:
        await viewer.connect()
        await viewer.send({"type": "join_room", "room": room})
        await viewer.expect("room")
    everyone = [presenter] + audience
    listeners = [asyncio.ensure_future(peer.listen()) for peer in everyone]

    await presenter.send({"type": "call_start", "room": room})
    await asyncio.wait_for(presenter.joined.wait(), left())
    screen = presenter.pc.addTransceiver(Screen(), direction="sendonly")
    await presenter.offer({id(screen): "screen"})
    await asyncio.wait_for(presenter.answered.wait(), left())
    await presenter.send(
        {"type": "call_media", "room": room, "audio": False, "video": False, "screen": True}
    )

    for viewer in audience:
        viewer.watch()
        await viewer.send({"type": "call_join", "room": room})
        await asyncio.wait_for(viewer.joined.wait(), left())
        # Something to offer: the server's tracks come in its own offers.
        viewer.pc.addTransceiver("audio", direction="recvonly")
        await viewer.offer({})
    # Until every viewer has decoded enough; what falls short shows in the
    # result.
    await asyncio.wait(
        [asyncio.ensure_future(v.decoded.wait()) for v in audience], timeout=left()
    )

    result = {
        "sent": presenter.pc.getTransceivers()[0].sender.track.count,
        "viewers": [
            {
                "name": v.name,
                "frames": v.frames,
                "size": v.size,
                "first": v.first,
                "last": v.last,
                "ordered": v.ordered,
                "errors": v.errors,
            }
            for v in audience
        ],
        "presenter_errors": presenter.errors,
    }
    print(json.dumps(result), flush=True)
    for peer in everyone:
        await peer.pc.close()
        await peer.ws.close()
    for listener in listeners:
        listener.cancel()


if __name__ == "__main__":
    base, room = sys.argv[1], sys.argv[2]
    viewers, frames, deadline = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    asyncio.run(main(base, room, viewers, frames, deadline))
