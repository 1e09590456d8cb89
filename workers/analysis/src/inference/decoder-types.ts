// The report decoder's plain-data types, shared by the decoder and the session thread that runs it (no imports:
// the ONNX Runtime layer and the decoder both depend on these, never on each other's modules for them).

export interface DecoderShape {
  numLayers: number;
  numHeads: number;
  headDim: number;
}

export interface DecodeOptions {
  maxSteps: number;
  bosId: number;
  eosId: number;
}

export interface BeamOptions extends DecodeOptions {
  beamSize: number;
  lengthPenalty: number;
}

export interface Decoded {
  ids: number[];
  logProb: number;
  score: number;
  steps: number;
  /** the sequence ended with the end token (not cut by maxSteps) */
  finished: boolean;
}

/** One whole report decode, as plain data: what the session thread needs to run it next to its session. */
export interface DecodeRequest {
  shape: DecoderShape;
  /** [M*D] memory of one image */
  memory: Float32Array;
  memoryTokens: number;
  method: "beam" | "greedy";
  options: BeamOptions;
}
