import socket, struct, random, sys
port = int(sys.argv[1]); out = sys.argv[2]
def q(name, t, edns):
    hdr = struct.pack('>HHHHHH', random.randrange(65536), 0x0100, 1, 0, 0, 1 if edns else 0)
    qn = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0'
    body = qn + struct.pack('>HH', t, 1)
    if edns: body += b'\0' + struct.pack('>HHIH', 41, 1232, 0, 0)
    return hdr + body
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
for i,(n,t,e) in enumerate([('www.test.example',1,True),('www.test.example',28,False),('test.example',15,True),
                             ('txt.test.example',16,True),('big.test.example',16,False),('nope.test.example',1,True)]):
    s.sendto(q(n,t,e), ('127.0.0.1', port)); d,_ = s.recvfrom(65535)
    open(f'{out}/dnsmasq-{i}-{n}-{t}.bin','wb').write(d)
# the big TXT over TCP, kept with its length prefix (exercises the stream path)
t = socket.create_connection(('127.0.0.1', port), 2); m = q('big.test.example',16,False)
t.sendall(struct.pack('>H', len(m)) + m); buf=b''
while len(buf) < 2 or len(buf) < 2 + struct.unpack('>H', buf[:2])[0]:
    c = t.recv(65535)
    if not c: break
    buf += c
open(f'{out}/dnsmasq-tcp-big.bin','wb').write(buf)
