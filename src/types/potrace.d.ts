declare module 'potrace' {
  export interface PotraceOptions {
    threshold?: number;
    turdSize?: number;
    alphaMax?: number;
    optCurve?: boolean;
    optTolerance?: number;
    color?: string;
    background?: string;
    blackOnWhite?: boolean;
  }
  export class Potrace {
    constructor(options?: PotraceOptions);
    loadImage(image: Buffer | string, cb: (err: Error | null) => void): void;
    getPathTag(fillColor?: string, scale?: { x: number; y: number }): string;
    getSVG(): string;
  }
  const potrace: { Potrace: typeof Potrace };
  export default potrace;
}
