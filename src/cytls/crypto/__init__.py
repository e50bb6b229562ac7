"""The cryptography a handshake is built from, below it and knowing nothing of its states: the
key schedule and transcript (``keyschedule``), key exchange groups (``groups``), signature
schemes (``signatures``) and session ticket sealing with 0-RTT anti-replay (``tickets``). The
record protection is the compiled ``cytls._record``; every primitive comes from ``cryptography``.
"""
