// cluster-key-slot (the slot function ioredis uses) ships no types.
declare module 'cluster-key-slot' {
  export default function calculateSlot(key: string | ArrayLike<number>): number;
}
