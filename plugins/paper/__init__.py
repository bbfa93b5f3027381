"""The paper as a whole: its later sections and sequels for the roadmap, and core terms.

This plugin has no concept chapter. Through ``register_roadmap`` it lists
what the book does not teach yet: sections 5 onward of "Toy Models of
Superposition" and the sequel papers. Through ``register_glossary`` it adds
the field's core vocabulary; a concept plugin that defines the same term
takes precedence (see :func:`course.pages.glossary`).
"""

from __future__ import annotations

from course import GlossaryEntry, RoadmapEntry, hookimpl

PAPER = "https://transformer-circuits.pub/2022/toy_model/index.html"
#: roadmap groups: the default group holds the paper's later sections
SECTIONS = RoadmapEntry.__dataclass_fields__["group"].default
SEQUELS = "Sequel papers"

#: (section number, title, anchor, what it covers)
LATER_SECTIONS = [
    (5, "Superposition and learning dynamics", "learning",
     "How superposition forms during training: features' dimensionalities jump between "
     "the sticky fractions like energy levels, and the jumps coincide with drops in the loss."),
    (6, "Relationship to adversarial robustness", "adversarial",
     "Superposition makes models easier to attack: in the toy models, vulnerability to "
     "adversarial examples rises sharply as superposition forms and tracks features per "
     "dimension; adversarial training removes superposition only against very strong attacks."),
    (7, "Superposition in a privileged basis", "privileged-basis",
     "A ReLU on the hidden layer gives neurons a meaning. Which features share a neuron, "
     "and when neurons turn polysemantic as sparsity grows."),
    (8, "Computation in superposition", "computation",
     "Models can compute while in superposition: a toy model computes absolute values of "
     "100 features with 40 neurons, and its neurons grow more polysemantic as features get sparser."),
    (9, "The strategic picture of superposition", "strategic",
     "Why superposition matters for safety: to enumerate every feature a model has "
     "(\"enumerative safety\") we must undo superposition, by building models without it, "
     "by finding an overcomplete basis of features (dictionary learning), or by a mix."),
    (10, "Discussion", "discussion",
     "To what extent superposition exists in real models, and what the toy models may get wrong."),
    (11, "Related work", "related-work",
     "Links to neuroscience (distributed codes), compressed sensing, disentanglement and "
     "earlier interpretability work."),
]

#: (order, title, link, what it adds)
SEQUEL_PAPERS = [
    (10, "Superposition, Memorization, and Double Descent (Henighan et al., 2023)",
     "https://transformer-circuits.pub/2023/toy-double-descent/index.html",
     "With a limited training set, toy models store the *data points* in superposition instead "
     "of the features while they overfit, and switch to features as the data grows; test loss "
     "shows double descent at the switch."),
    (20, "Towards Monosemanticity (Bricken et al., 2023)",
     "https://transformer-circuits.pub/2023/monosemantic-features/index.html",
     "Dictionary learning in practice: sparse autoencoders trained on the 512-neuron MLP layer "
     "of a one-layer transformer recover thousands of features far more interpretable than "
     "its neurons."),
    (30, "Scaling Monosemanticity (Templeton et al., 2024)",
     "https://transformer-circuits.pub/2024/scaling-monosemanticity/index.html",
     "Sparse autoencoders with up to 34 million features on the middle layer of Claude 3 "
     "Sonnet: multilingual, multimodal and safety-relevant features that can steer the model."),
    (40, "Sparse Autoencoders Find Highly Interpretable Features in Language Models "
         "(Cunningham et al., 2023)",
     "https://arxiv.org/abs/2309.08600",
     "An independent demonstration that sparse autoencoders pull interpretable features out "
     "of superposition in language models."),
    (50, "Superposition and sparse autoencoders, hands on (ARENA)",
     "https://www.lesswrong.com/posts/LnHowHgmrMbWtpkxx/intro-to-superposition-and-sparse-autoencoders-colab",
     "Exercises that rebuild the toy models (non-privileged and privileged basis, correlated "
     "features, feature geometry, double descent) and then train sparse autoencoders on toy "
     "models and language models."),
]


@hookimpl
def register_roadmap(register):
    for number, title, anchor, description in LATER_SECTIONS:
        register(RoadmapEntry(
            title=f"§{number} {title}",
            description=description,
            link=f"{PAPER}#{anchor}",
            group=SECTIONS,
            order=number,
        ))
    for order, title, link, description in SEQUEL_PAPERS:
        register(RoadmapEntry(title=title, description=description, link=link,
                              group=SEQUELS, order=order))


#: the field's core terms: (term, definition, source)
TERMS = [
    ("Polysemanticity",
     "A neuron responds to several unrelated features, like the InceptionV1 neuron that fires "
     "for cat faces, fronts of cars and cat legs. A property of one neuron.",
     "https://distill.pub/2020/circuits/zoom-in/"),
    ("Monosemantic",
     "A neuron (or dictionary feature) that responds to one feature only.",
     "https://transformer-circuits.pub/2023/monosemantic-features/index.html"),
    ("Distributed representation",
     "A feature spread over many neurons instead of owning one. A property of one feature; "
     "a code can be fully distributed and have no superposition.",
     PAPER + "#related-work"),
    ("Interference",
     "The cost of features sharing dimensions: one feature activating looks like other "
     "features slightly activating, because their directions are not orthogonal.",
     PAPER + "#demonstrating"),
    ("Privileged basis",
     "A basis whose directions mean something, because the architecture treats them "
     "differently (for example a ReLU applied neuron by neuron). Only then can a neuron be "
     "called mono- or polysemantic.",
     PAPER + "#motivation"),
    ("Sparsity",
     "How often a feature is absent: in the toy model x_i = 0 with probability S. "
     "Sparse features are rarely active together, which makes sharing dimensions cheap.",
     PAPER + "#demonstrating"),
    ("Importance",
     "How much a feature matters for the loss: the weight I_i on its squared error.",
     PAPER + "#demonstrating"),
    ("Gram matrix WᵀW",
     "The features × features matrix of dot products W_i · W_j: squared lengths on the "
     "diagonal, overlaps (interference) off it. Identity on the learned features when there "
     "is no superposition.",
     PAPER + "#demonstrating"),
    ("Phase change",
     "A sudden switch of the best solution as sparsity or importance crosses a boundary, "
     "for example from ignoring a feature to storing it in superposition.",
     PAPER + "#phase-change"),
    ("Enumerative safety",
     "The hope of checking a model's safety by listing every feature it represents; "
     "superposition is the main obstacle.",
     PAPER + "#strategic"),
    ("Dictionary learning",
     "Finding an overcomplete set of directions (more than the dimensions) such that each "
     "activation is a sparse combination of them: a way to take features out of superposition.",
     PAPER + "#strategic-approach-overcomplete"),
    ("Sparse autoencoder",
     "A one-hidden-layer autoencoder, wider than the activations it reads, trained to "
     "reconstruct them with few active units; the standard tool for dictionary learning.",
     "https://transformer-circuits.pub/2023/monosemantic-features/index.html"),
    ("Double descent",
     "Test loss that falls, rises and falls again as data or model size grows; in toy models "
     "it coincides with a switch from memorising data points to learning features.",
     "https://transformer-circuits.pub/2023/toy-double-descent/index.html"),
]


@hookimpl
def register_glossary(register):
    for term, definition, link in TERMS:
        register(GlossaryEntry(term, definition, link))
