"""End-to-end federation tests between real ``ipo-node`` processes on loopback ports."""
