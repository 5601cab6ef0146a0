/**
 * The layer list (top first): visibility, swatch, name, contribution, colour, order, delete; and
 * the selected layer's mask parameters p as sliders. Every edit is one of src/edit's functions on
 * the document and re-renders at once.
 */
import { colourHex, moveLayer, parseColour, recolour, removeLayers, setParams, setVisible } from '../src/edit/edits.js';
import { editLayers, state } from './state.js';
import { button, $ } from './ui.js';
import { contributionGrid, contributions, draw, drawSteps, swatch } from './view.js';

/** after the layers changed: the list, the sliders, the steps and the render; `refresh` lets others follow (the refine panel) */
export const hooks = { changed: () => undefined as void };

export function buildLayerList(): void {
  const list = $('layers');
  list.replaceChildren();
  const { psnr, contributions: worth } = contributions();
  list.dataset.psnr = String(psnr);
  const g = contributionGrid();
  const at = g ? ` (at ${g.width}×${g.height})` : '';
  state.layers.forEach((l, i) => {
    const li = document.createElement('li');
    li.dataset.index = String(i);
    if (i === state.selected) li.classList.add('selected');
    if (l.place) li.classList.add('placed');
    const vis = document.createElement('input');
    vis.type = 'checkbox';
    vis.checked = l.visible !== false;
    vis.className = 'visible';
    vis.title = 'visible';
    vis.onchange = () => edit(() => editLayers((d) => setVisible(d, i, vis.checked)));
    const sw = document.createElement('canvas');
    swatch(sw, l);
    sw.onclick = () => select(i);
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = l.name ?? `layer ${i + 1}`;
    name.title = l.place ? 'a placed layer: the network\'s shape in its own frame (position, angle, size)' : 'a whole-frame layer from the network';
    name.onclick = () => select(i);
    const db = document.createElement('span');
    db.className = 'contribution';
    db.title = `PSNR lost when this layer alone is hidden${at}`;
    db.textContent = Number.isFinite(worth[i]!) ? `${worth[i]!.toFixed(1)} dB` : '';
    const tools = document.createElement('span');
    tools.className = 'tools';
    const colour = document.createElement('input');
    colour.type = 'color';
    colour.className = 'colour';
    colour.title = 'colour';
    colour.value = colourHex(l.colour);
    colour.oninput = () => {
      editLayers((d) => recolour(d, i, parseColour(colour.value)));
      draw();
    };
    colour.onchange = () => refresh();
    const up = button('▲', 'move up', () => move(i, i + 1), i === state.layers.length - 1);
    const down = button('▼', 'move down', () => move(i, i - 1), i === 0);
    const del = button('✕', 'delete layer', () => edit(() => editLayers((d) => removeLayers(d, [i]))));
    del.className = 'delete';
    tools.append(colour, up, down, del);
    li.append(vis, sw, name, db, tools);
    list.append(li);
  });
  $('layer-count').textContent = state.layers.length ? `${state.layers.length}` : '';
  buildSliders();
}

/** everything that shows the layers, drawn again */
export function refresh(): void {
  if (state.selected >= state.layers.length) state.selected = state.layers.length - 1;
  buildLayerList();
  drawSteps();
  draw();
  hooks.changed();
}

function edit(f: () => void): void {
  f();
  refresh();
}

function move(from: number, to: number): void {
  if (to < 0 || to >= state.layers.length) return;
  edit(() => {
    editLayers((d) => moveLayer(d, from, to));
    if (state.selected === from) state.selected = to;
  });
}

function select(i: number): void {
  state.selected = i;
  buildLayerList();
}

function buildSliders(): void {
  const box = $('sliders');
  box.replaceChildren();
  const l = state.layers[state.selected];
  $('sel-name').textContent = l ? (l.name ?? `layer ${state.selected + 1}`) : '— pick a layer in the list';
  if (!l) return;
  l.p.forEach((v, k) => {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'range';
    input.min = String(Math.min(-5, Math.floor(v)));
    input.max = String(Math.max(5, Math.ceil(v)));
    input.step = '0.01';
    input.value = String(v);
    input.className = `p${k}`;
    const out = document.createElement('output');
    out.textContent = v.toFixed(2);
    input.oninput = () => {
      const p = state.layers[state.selected]!.p.slice();
      p[k] = Number(input.value);
      out.textContent = p[k]!.toFixed(2);
      editLayers((d) => setParams(d, state.selected, p));
      draw();
    };
    input.onchange = () => refresh();
    label.append(`p${k + 1}`, input, out);
    box.append(label);
  });
}
