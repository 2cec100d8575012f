"""The bare Solara round trip that ``bench_viz.py`` compares a Step of the page with.

A button and a counter: a click goes to the server, the server changes one text, the browser shows
it. Nothing of the model, no image: what any Solara page costs per click on this machine.
"""

import solara

count = solara.reactive(0)


@solara.component
def Page() -> None:
    solara.Button("Step", on_click=lambda: count.set(count.value + 1))
    solara.Text(str(count.value), classes=["bare-count"])
