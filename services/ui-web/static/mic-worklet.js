// AudioWorklet: microphone float samples at the context's rate -> PCM16LE mono 16 kHz,
// posted as ArrayBuffers of 20 ms (320 samples). Linear interpolation with the fractional
// read position carried across render quanta, after a simple moving-average low-pass when
// downsampling so that energy above 8 kHz does not alias into the speech band.

const TARGET_RATE = 16000;
const FRAME_SAMPLES = 320;

class Pcm16kCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.taps = Math.max(1, Math.round(this.step));
    this.history = new Float32Array(this.taps);
    this.historyPos = 0;
    this.historySum = 0;
    this.prev = 0; // last filtered input sample
    this.pos = 0; // read position, relative to the current block, of the next output sample
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.fill = 0;
  }

  process(inputs) {
    const input = inputs[0]?.[0];
    if (!input) return true;
    const filtered = new Float32Array(input.length);
    for (let i = 0; i < input.length; i++) {
      this.historySum += input[i] - this.history[this.historyPos];
      this.history[this.historyPos] = input[i];
      this.historyPos = (this.historyPos + 1) % this.taps;
      filtered[i] = this.historySum / this.taps;
    }
    // Sample k of the block is at position k; position -1 is the previous block's last sample.
    while (this.pos < filtered.length - 1 + 1e-9) {
      const i = Math.floor(this.pos);
      const frac = this.pos - i;
      const a = i < 0 ? this.prev : filtered[i];
      const b = filtered[Math.min(i + 1, filtered.length - 1)];
      const value = a + (b - a) * frac;
      const clamped = Math.max(-1, Math.min(1, value));
      this.frame[this.fill++] = clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff;
      if (this.fill === FRAME_SAMPLES) {
        const out = this.frame.buffer.slice(0);
        this.port.postMessage(out, [out]);
        this.fill = 0;
      }
      this.pos += this.step;
    }
    this.pos -= filtered.length;
    this.prev = filtered[filtered.length - 1];
    return true;
  }
}

registerProcessor("pcm16k-capture", Pcm16kCapture);
