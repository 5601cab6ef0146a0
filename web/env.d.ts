/** asset URLs of imported files (Vite's `?url` suffix) */
declare module '*?url' {
  const url: string;
  export default url;
}
