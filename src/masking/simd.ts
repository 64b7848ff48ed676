// A WebAssembly SIMD kernel for masking long spans (RFC 6455 §5.3): 16-byte v128 XORs, four per loop
// turn. Wasm code can only touch its own linear memory, so a span elsewhere goes through a 64 KiB
// window there: copy in, XOR, copy out (both copies run at memcpy speed and the window stays in cache).
// For spans of a few KiB and more that beats the JavaScript word loop by 2-4x (bench/masking-micro.mjs).
//
// The memory also holds a read area (simdReadArea): the transport has the sockets it owns read straight
// into it, so received frames are unmasked where they landed, with no copy in and out.
//
// The module is assembled below from its bytes (no toolchain, no file to load), compiled once on first
// use. Where WebAssembly or its SIMD proposal is missing, `simdXor` is null and callers keep the
// JavaScript loop.

// The few WebAssembly JS API members used (the compiler's lib has no WebAssembly types for Node 20).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
};
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** Unsigned LEB128: the binary format's sizes, counts, indices and offsets. */
function leb128(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function section(id: number, content: number[]): number[] {
  return [id, ...leb128(content.length), ...content];
}

function name(text: string): number[] {
  return [...leb128(text.length), ...Array.from(text, (c) => c.charCodeAt(0))];
}

// Opcodes (WebAssembly core 2.0 with fixed-width SIMD).
const BLOCK = 0x02;
const LOOP = 0x03;
const VOID = 0x40;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const I32_LT_U = 0x49;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const SIMD = 0xfd;
const V128_LOAD = 0x00;
const V128_STORE = 0x0b;
const I32X4_SPLAT = 0x11;
const V128_XOR = 0x51;
const I32 = 0x7f;
const V128 = 0x7b;
/** memarg: alignment 2^4 = 16 bytes (a hint only), then the offset. */
const memarg = (offset: number): number[] => [0x04, ...leb128(offset)];
/** i32.const `value`: its immediate is a signed LEB128. */
function i32(value: number): number[] {
  const out = [I32_CONST];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

// func x(ptr: i32, len: i32, key: i32): XOR memory[ptr, ptr + len) with the little-endian word `key`
// repeated; len is a multiple of 16. Locals: 0 ptr, 1 len, 2 key, 3 the key splatted into a v128.
function xorAt(offset: number): number[] {
  // memory[ptr + offset] = memory[ptr + offset] ^ k   (v128.store wants the address first)
  return [LOCAL_GET, 0, LOCAL_GET, 0, SIMD, V128_LOAD, ...memarg(offset), LOCAL_GET, 3, SIMD, V128_XOR, SIMD, V128_STORE, ...memarg(offset)];
}

/** while (len >= step) { XOR `step` bytes at ptr; ptr += step; len -= step } */
function loop(step: number): number[] {
  const xors: number[] = [];
  for (let offset = 0; offset < step; offset += 16) xors.push(...xorAt(offset));
  return [
    BLOCK, VOID, LOOP, VOID,
    LOCAL_GET, 1, ...i32(step), I32_LT_U, BR_IF, 1,
    ...xors,
    LOCAL_GET, 0, ...i32(step), I32_ADD, LOCAL_SET, 0,
    LOCAL_GET, 1, ...i32(step), I32_SUB, LOCAL_SET, 1,
    BR, 0, END, END,
  ];
}

function moduleBytes(): Uint8Array {
  const body = [
    0x01, 0x01, V128, // one local of type v128
    LOCAL_GET, 2, SIMD, I32X4_SPLAT, LOCAL_SET, 3,
    ...loop(64),
    ...loop(16),
    END,
  ];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [0x01, 0x60, 0x03, I32, I32, I32, 0x00]), // type 0: (i32, i32, i32) -> ()
    ...section(3, [0x01, 0x00]), // function 0 has type 0
    ...section(5, [0x01, 0x00, ...leb128(PAGES)]), // one memory of PAGES pages (it never grows)
    ...section(7, [0x02, ...name('x'), 0x00, 0x00, ...name('m'), 0x02, 0x00]), // export func 0 as x, memory 0 as m
    ...section(10, [0x01, ...leb128(body.length), ...body]),
  ]);
}

/** The window in wasm memory: one page. */
const WINDOW = 64 * 1024;
/** The read area, after the window. */
const READ_AREA = 256 * 1024;
const PAGES = (WINDOW + READ_AREA) / 65536;

/**
 * dst[dstStart + i] = src[srcStart + i] ^ word octets, for i in [0, length) with length a multiple of
 * 16; `word` is the masking key as a little-endian 32-bit word in the phase of srcStart. src and dst
 * may be the same memory at the same offsets.
 */
export type SimdXor = (src: Uint8Array, srcStart: number, dst: Uint8Array, dstStart: number, length: number, word: number) => void;

interface Kernel {
  /** Spans anywhere, through the window. */
  xor: SimdXor;
  /** XOR memory[at, at + length) in place (length a multiple of 16). */
  xorAt: (at: number, length: number, word: number) => void;
  memory: ArrayBuffer;
  readArea: Buffer;
}

function build(): Kernel | null {
  let exports: Record<string, unknown>;
  try {
    exports = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes())).exports;
  } catch {
    return null; // no WebAssembly, or no SIMD: the JavaScript loop serves
  }
  const xorAt = exports.x as (ptr: number, len: number, key: number) => void;
  const memory = (exports.m as WasmMemory).buffer;
  const window = new Uint8Array(memory, 0, WINDOW);
  const xor: SimdXor = (src, srcStart, dst, dstStart, length, word) => {
    let done = 0;
    while (done < length) {
      const n = length - done < WINDOW ? length - done : WINDOW;
      window.set(new Uint8Array(src.buffer, src.byteOffset + srcStart + done, n), 0);
      xorAt(0, n, word);
      dst.set(n === WINDOW ? window : window.subarray(0, n), dstStart + done);
      done += n;
    }
  };
  return { xor, xorAt, memory, readArea: Buffer.from(memory, WINDOW, READ_AREA) };
}

let kernel: Kernel | null | undefined;
/** The last array seen in the kernel's memory, and the last (small) one seen outside it. */
let areaArray: Uint8Array | null = null;
let otherArray: Uint8Array | null = null;

function theKernel(): Kernel | null {
  if (kernel === undefined) kernel = build();
  return kernel;
}

/** The SIMD kernel, built on first call; null where it cannot run. */
export function simdXor(): SimdXor | null {
  return theKernel()?.xor ?? null;
}

/**
 * READ_AREA bytes of the kernel's memory that a caller may fill (the transport reads sockets into it)
 * and then XOR in place with no copy; null where the kernel cannot run. One area per process: whatever
 * is read into it must be used or copied before the next read.
 */
export function simdReadArea(): Buffer | null {
  return theKernel()?.readArea ?? null;
}

/**
 * XOR buf[start, start + length) in place with `word` (as for SimdXor; length a multiple of 16) when
 * buf lies in the kernel's memory (the read area), with no copy; false, and nothing done, otherwise.
 */
export function simdXorInPlace(buf: Uint8Array, start: number, length: number, word: number): boolean {
  const k = kernel;
  if (k == null) return false;
  // Reading `.buffer` costs about as much as XORing a few dozen bytes, and a chunk holds many frames:
  // the last array seen on each side is remembered (outside only when small, not to hold big memory).
  if (buf !== areaArray) {
    if (buf === otherArray) return false;
    if (buf.buffer !== k.memory) {
      otherArray = buf.length <= 65536 ? buf : null;
      return false;
    }
    areaArray = buf;
  }
  k.xorAt(buf.byteOffset + start, length, word);
  return true;
}

