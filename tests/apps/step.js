(async () => {
  // One Step of the page, timed: click Step, resolve with the milliseconds until the year and every
  // chart image are replaced and decoded (tests/test_viz_browser.py, benchmarks/bench_viz.py).
  const button = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === 'Step');
  const year = () => document.querySelector('.armsrace-year').textContent.trim();
  const images = () => [...document.querySelectorAll('img.armsrace-chart')];
  const year0 = year(), src0 = images().map(i => i.src);
  const t0 = performance.now();
  button.click();
  return await new Promise((resolve, reject) => {
    const limit = setTimeout(() => reject(new Error('the page did not update within 20 s')), 20000);
    const check = () => {
      const now = images();
      if (year() !== year0 && now.length === src0.length
          && now.every((im, k) => im.src !== src0[k] && im.complete && im.naturalWidth > 0)) {
        clearTimeout(limit);
        resolve(performance.now() - t0);
      } else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  });
})
