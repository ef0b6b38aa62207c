"""Uploads a file to lanchat with tuspy, given nothing but the endpoint and
the Lanchat-Token header. Prints one JSON line with the upload's URL.

Usage: python tuspy_client.py <endpoint> <token> <file> <room>
"""

import json
import os
import sys

from tusclient import client

CHUNK = 1024 * 1024


def main() -> None:
    endpoint, token, path, room = sys.argv[1:5]
    tus = client.TusClient(endpoint, headers={"Lanchat-Token": token})
    uploader = tus.uploader(
        path,
        chunk_size=CHUNK,
        metadata={"filename": os.path.basename(path), "room": room},
    )
    uploader.upload()
    print(json.dumps({"url": uploader.url}))


if __name__ == "__main__":
    main()
