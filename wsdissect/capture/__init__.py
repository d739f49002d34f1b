"""Capture sources: files (pcap, pcapng, gzip, stdin) and live sniffing, plus link/IP/TCP header parsing.

This package is the only place that touches scapy.  Records are plain tuples
``(frame_no, ts, linktype, data, wire_len)`` so the hot path allocates nothing else.
"""
