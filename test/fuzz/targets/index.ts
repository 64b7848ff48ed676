// The targets of `npm run fuzz`, in the order they run.
import { deflateConnectionTarget } from './deflate-connection.js';
import { extensionsTarget } from './extensions.js';
import { frameDecoderTarget } from './frame-decoder.js';
import { headParserTarget } from './head-parser.js';
import type { FuzzTarget } from './target.js';
import { utf8Target } from './utf8.js';

export const targets: readonly FuzzTarget[] = [headParserTarget, extensionsTarget, frameDecoderTarget, utf8Target, deflateConnectionTarget];
