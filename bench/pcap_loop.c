/* The ceiling for reading a capture: a bare libpcap loop that touches each packet once.
 * usage: pcap_loop FILE  -> prints "<packets> <bytes>" */
#include <pcap/pcap.h>
#include <stdio.h>

static void on_packet(u_char* user, const struct pcap_pkthdr* h, const u_char* bytes) {
    unsigned long long* acc = (unsigned long long*)user;
    acc[0] += 1;
    acc[1] += h->len + (h->caplen ? bytes[0] : 0);
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    unsigned long long acc[2] = {0, 0};
    pcap_loop(p, -1, on_packet, (u_char*)acc);
    pcap_close(p);
    printf("%llu %llu\n", acc[0], acc[1]);
    return 0;
}
