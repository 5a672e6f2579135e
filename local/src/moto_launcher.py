# Starts moto's server on 127.0.0.1:<port> and exits when the parent process goes away,
# so no test or crash leaves a server behind.
import os
import sys
import time

from moto.server import ThreadedMotoServer

port = int(sys.argv[1])
parent = os.getppid()
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
print("ready", flush=True)
try:
    while os.getppid() == parent:
        time.sleep(0.5)
finally:
    server.stop()
