// A card frame for the browser tests' pages, as an entity page lays cards out.
import React from 'react';

export function Card(props: { title: string; children: React.ReactNode; width?: number }) {
  return (
    <section style={{ background: '#fff', borderRadius: 4, boxShadow: '0 1px 3px rgba(0,0,0,.2)', padding: 16, margin: 12, flex: `1 1 ${props.width ?? 420}px` }}>
      <h3 style={{ margin: '0 0 8px', fontFamily: 'sans-serif' }}>{props.title}</h3>
      <div style={{ fontFamily: 'sans-serif' }}>{props.children}</div>
    </section>
  );
}
