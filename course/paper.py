"""The paper this course teaches, named once for the whole course."""

#: Elhage et al. (2022), "Toy Models of Superposition"
PAPER_URL = "https://transformer-circuits.pub/2022/toy_model/index.html"
