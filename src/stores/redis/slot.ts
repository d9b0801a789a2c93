import calculateSlot from 'cluster-key-slot';

/**
 * The Redis Cluster hash slot of a key (CRC16/XMODEM of its hash tag, mod 16384), computed
 * by the same package ioredis routes commands with, so Sluice groups keys into script calls
 * exactly as they will be sent.
 */
export function keySlot(key: string): number {
  return calculateSlot(key);
}
