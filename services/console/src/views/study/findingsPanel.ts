/** Findings table: probability against the decision threshold, grounded regions and knowledge. */
import { h, replace } from '../../dom.ts';
import { pct } from '../../format.ts';
import { aiBanner, emptyState } from '../../ui.ts';
import type { Finding } from '../../types.ts';

export function findingsPanel(onHighlight: (regions: string[]) => void): { el: HTMLElement; update(findings: Finding[] | null, pending: string): void } {
  const body = h('div');
  const el = h('section', { class: 'panel', 'aria-labelledby': 'findings-title' }, h('h2', { id: 'findings-title' }, 'Findings'), aiBanner(), body);
  let key = '';
  return {
    el,
    update(findings, pending) {
      const next = findings ? JSON.stringify(findings) : `pending:${pending}`;
      if (next === key) return;
      key = next;
      if (!findings) {
        replace(body, emptyState(pending));
        return;
      }
      if (findings.length === 0) {
        replace(body, emptyState('The classifier returned no findings.'));
        return;
      }
      const rows = [...findings].sort((a, b) => b.probability - a.probability).map((f) => {
        const regions = f.regions.map((r) => r.region);
        const row = h('tr', {
          tabindex: '0', class: f.positive ? 'finding-positive' : '', 'data-finding': f.label,
          'aria-label': `${f.label}: ${pct(f.probability)}, threshold ${pct(f.threshold)}, ${f.positive ? 'positive' : 'negative'}. Focus to highlight its regions.`,
          onmouseenter: () => onHighlight(regions), onmouseleave: () => onHighlight([]),
          onfocus: () => onHighlight(regions), onblur: () => onHighlight([]),
        },
          h('th', { scope: 'row' }, f.label, f.positive ? h('span', { class: 'badge badge-positive' }, 'Positive') : null,
            f.knowledge ? h('span', { class: 'knowledge', 'data-knowledge': true }, f.knowledge) : null),
          h('td', { class: 'num' }, probabilityBar(f.probability, f.threshold)),
          h('td', { class: 'num' }, pct(f.threshold, 0)),
          h('td', { class: 'regions-cell' }, f.regions.length ? f.regions.slice(0, 3).map((r) => h('span', { class: 'chip' }, `${r.region} ${(r.weight * 100).toFixed(0)}%`)) : '—'));
        return row;
      });
      replace(body, h('div', { class: 'table-wrap table-scroll' }, h('table', { class: 'findings-table' },
        h('caption', { class: 'visually-hidden' }, 'Findings with probability, decision threshold, grounded regions and knowledge sentence'),
        h('thead', null, h('tr', null, ['Finding and knowledge', 'Probability', 'Threshold', 'Grounded regions'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, rows))));
    },
  };
}

function probabilityBar(p: number, threshold: number): HTMLElement {
  return h('span', { class: 'prob' },
    h('span', { class: 'prob-bar', 'aria-hidden': 'true' },
      h('span', { class: `prob-fill${p >= threshold ? ' over' : ''}`, style: `width:${Math.round(p * 100)}%` }),
      h('span', { class: 'prob-threshold', style: `left:${Math.round(threshold * 100)}%` })),
    pct(p));
}
