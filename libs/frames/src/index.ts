export {
  FRAMES_HEADER,
  FRAMES_PROTOCOL,
  FrameError,
  FrameReader,
  GOAWAY,
  HEAD_BYTES,
  REQUEST,
  RESPONSE,
  decodeRequest,
  decodeResponse,
  encodeGoAway,
  encodeRequest,
  encodeResponse,
  type FrameLimits,
  type HeaderPairs,
  type RequestFrame,
  type ResponseFrame,
} from './codec';
export { FrameWriter } from './writer';
export { FrameServer, type FrameAnswer, type FrameHandler, type FrameServerOptions } from './server';
export {
  ClientConnection,
  FrameConnectionError,
  FramePool,
  FramesClient,
  type FramesClientOptions,
  type StreamHandler,
} from './client';
