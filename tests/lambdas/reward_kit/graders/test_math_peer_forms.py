"""Math references as peers read them: matrices and arrays, tuples, equations with any left
side, sets given as several boxes. The cases are Math-Verify's and verl's own test data, copied
as data (their code is not), with the reward they expect; the math grader must agree on every
one: 1 means full credit, 0 means anything less.

Sources:
- huggingface/Math-Verify at commit 5d148cfaaf99214c2e4ffb4bc497ab042c592a7a (MIT License),
  the files and test functions named above each group. Selected: every (gold, pred, expected)
  case whose gold or prediction holds a matrix or array, whose gold is an equation, a tuple or
  interval, or several boxes, at default precision and settings, except one whose source has
  "\\\frac" (a form feed, not LaTeX). The gold goes in as the reference answer, the prediction as
  the response.
- volcengine/verl at commit b178a3cd56f58b2d502255daba591e92833930a7 (Apache-2.0),
  tests/utils/reward_score/test_sandbox_on_cpu.py ``prime_math_answers``/``prime_math_gts``:
  the answers boxed (verl's prime_math scorer is handed the bare answer; this grader reads the
  response's boxes).
"""

from __future__ import annotations

import pytest

from reward_kit.scoring import Scorer

MATH_VERIFY_CASES = [
    # tests/test_all.py::test_sets_handling
    ('$(0,9)$', '$[0,9)$', 0),
    # tests/test_all.py::test_latex_notation_math
    ('\\boxed{\n\\begin{pmatrix} 0 & 3 \\\\ 0 & -1 \\end{pmatrix}\n}.\n\\end{align*}', '\\boxed{\n\\begin{pmatrix} 0 & 3 \\\\ 0 & -1 \\end{pmatrix}\n}.\n\\end{align*}', 1),
    ('$(6,31,-1)$', 'Let $\\alpha$ be a root of $x^3 - 3x^2 + 4x - 1 = 0,$ so $\\alpha^3 = 3 \\alpha^2 - 4 \\alpha + 1.$ Then solving the system of equations, we find $(p,q,r) = \\boxed{(6,31,-1)}.$', 1),
    # tests/test_all.py::test_relations_math
    ('$x >= 5$', 'Therefore $x \\geq 5$ is the solution.', 1),
    ('$x != 3$', 'We find that $x \\neq 3$.', 1),
    ('$x = 11$', '$x = 5+5+1 = 7 =11$', 1),
    ('$7 = 11a+c$', '$11a+c$', 0),
    ('$x = 11$', '$x = 5+5+1 = 7 =11$', 1),
    ('$x = 1/3$', '$x = 5+5+1 = 1/3 \\approx 11$', 1),
    ('$x <= 1$', '$-x >= -1$', 1),
    ('$a +3z = 0$', '$0$', 0),
    ('$1 = \\zzz = x = 0$', '$0$', 1),
    ('$2x + z = 1$', '$1$', 0),
    ('$a^2 + b = 0$', '$0$', 0),
    ('$k=1$', '$1$', 1),
    ('$z = 1 + 1 = 2$', '$z = 3+3 = 2$', 1),
    ('$z = 1 + 1 = 2$', '$z = 3+3 = 2$', 1),
    ('$2x+4y-3=0$', '$y=-\\frac{1}{2}x+\\frac{3}{4}$', 1),
    ('$x^2/4 + y^2/3 = 1$', '$x^2/16 + y^2/12 = 1/4$', 1),
    # tests/test_all.py::test_matrix_extraction
    ('$\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}$', 'The identity matrix is $ \\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix} $.', 1),
    ('$\\begin{bmatrix}0 & 0 \\\\0 & 0\\end{bmatrix}$', 'Here is a zero matrix: $ \\begin{pmatrix}0 & 0 \\\\0 & 0\\end{pmatrix} $', 1),
    ('$\\begin{pmatrix}1 & 2 \\\\3 & 4\\end{pmatrix}$', 'Special matrix: $ \\left[\\begin{array}{cc}1 & 2 \\\\3 & 4\\end{array}\\right] $', 1),
    ('$\\begin{pmatrix}\\frac{1}{2} & \\frac{3}{4} \\\\ \\frac{5}{6} & \\frac{7}{8}\\end{pmatrix}$', 'Matrix with fractions: $ \\begin{pmatrix}\\frac{1}{2} & \\frac{3}{4} \\\\ \\frac{5}{6} & \\frac{7}{8}\\end{pmatrix} $', 1),
    ('$\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}$', 'The sum is $\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}$', 1),
    ('$\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}$', 'When multiplying by identity: $\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix} \\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}$', 1),
    ('$\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}$', 'The matrix is $\\begin{pmatrix}1 & 2 \\\\ 3 & 5\\end{pmatrix}$', 0),
    # tests/test_all.py::test_complex_math_expressions
    ('$(1,\\frac{9}{2})$', '$(1,4.5)$', 1),
    ('$\\begin{pmatrix}\\frac{1}{3\\sqrt[3]{x}^2}&0&0\\\\0&1&0\\\\-\\sin(x)&0&0\\\\\\end{pmatrix}$', '$\\begin{pmatrix}\\frac{1}{3x^{2/3}}&0&0\\\\0&1&0\\\\-\\sin(x)&0&0\\end{pmatrix}$', 1),
    ('$34x+45y-20z+100=0$', '$-34x-45y+20z-100=0$', 1),
    ('$(a+5)(b+2)$', '$(+5)(b+2)$', 0),
    # tests/test_all.py::test_math_extraction_additional_cases
    ('$(3,1)$', '${1,3}$', 0),
    ('$(1,3)$', '${1,3}$', 1),
    ('$\\boxed{1}\\boxed{2}$', '$\\boxed{1,2}$', 1),
    # tests/test_boxed.py::test_boxed
    ('$\\\\boxed{35 cm} ++++++ \\\\boxed{4}$', '${35 cm,4}$', 1),
    (' the answer should be \\\\boxed{004}.\\n\\nBut let me check again: the sum is 2,552,004. The last three digits are 004. Therefore, when divided by 1000, the remainder is 004. So, \\\\boxed{004} is the correct answer.\\n\\n**Final Answer**\\n\\\\boxed{004}', '$004$', 1),
    ('SoHi YES.\\n\\n could answer therefore\\\\boxed{840}.,but let me put this after explain.\\n\\n**Final Answer**\\n\\\\boxed{840}', '$840$', 1),
    # tests/test_numina_cases.py::test_numina_cases
    ('$(37,3,3,13),(17,3,3,7),(3,37,3,13),(3,17,3,7),(3,3,2,3)$', '$\\boxed{(3, 37, 3, 13), (3, 17, 3, 7), (3, 3, 2, 3), (3,17,3,7), (17,3,3,7), (37,3,3,13)}$', 1),
    ('$(p,q)=(3,2)$', '$(3,2)$', 1),
    ('$(0;0;0),(0;-2;0),(0;0;6),(0;-2;6),(4;0;0),(4;-2;0),(4;0;6),(4;-2;6)$', '\\boxed{(4, 0, 6), (4, -2, 6), (0, 0, 6), (0, -2, 6), (4, 0, 0), (4, -2, 0), (0, 0, 0), (0, -2, 0)}', 1),
    ('$AB=4,CD=5$', '$\\boxed{4, 5}$', 1),
    ('$(11,7)or(7,11)$', '$\\boxed{(7,11),\\ (11,7)}$', 1),
    ('$S_{MBCN}:S=7:32$', '$\\boxed{7:32}$', 1),
    ('$\\frac{NO}{BO}=\\frac{1}{\\sqrt{6}}$', '$\\frac{1}{\\sqrt{6}}$', 1),
    ('$p=5,q=2;p=7,q=2$', '$(5,2),(7,2)$', 1),
    ('$(p,q,r)=(3,2,7)$', '$(3,2,7)$', 1),
    ('$V_{1}:V_{2}=11:21$', '$11:21$', 1),
    ('$(2,1),(1,2),(-1,-20),(-20,-1)$', 'solutions are:\n\n\\[\n\\boxed{(1, 2)}, \\boxed{(2, 1)}, \\boxed{(-1, -20)}, \\boxed{(-20, -1)}\n\\]', 1),
    ('\\(\\boxed{1}\\) and \\(\\boxed{-2}\\).', '$\\boxed{-2,1}$.', 1),
    ('$(37,3,3,13),(17,3,3,7),(3,37,3,13),(3,17,3,7),(3,3,2,3)$', '$\\boxed{(3, 37, 3, 13), (3, 17, 3, 7), (3, 3, 2, 3), (3,17,3,7), (17,3,3,7), (37,3,3,13)}$', 1),
    ('$(37,3,3),(17,3,3,7),(3,37,3,13),(3,17,3,7),(3,3,2,3)$', '$\\boxed{(3, 37, 3, 13), (3, 17, 3, 7), (3, 3, 2, 3), (3,17,3,7), (17,3,3,7), (37,3,3,13)}$', 0),
    ('$(p,q)=(3,2)$', '$\\boxed{(3, 2)}$', 1),
    ('\\boxed{x = -5,\\ p = \\frac{14}{3}} ', '$\\boxed{-5, \\frac{14}{3}}$', 1),
    ('\\boxed{a=4,\\,-8,\\,-10}', '$\\boxed{-10,-8,4}$', 1),
    ('\\\\boxed{W(n) = 1 \\\\text{ and } W(n) = -1', 'W(x)=1orW(x)=-1', 1),
    ('\\n\\n\\[ \\boxed{p = -1 \\text{ and } p = \\dfrac{15}{8}} \\]', '$p=-1,p=\\frac{15}{8}$', 1),
    # tests/test_open_thoughts.py::test_open_thoughts
    ('$$\\boxed{2}, \\boxed{3}, \\boxed{5}, \\boxed{7}, \\boxed{13}$$', '$${2, 3, 5, 7, 13}$$', 1),
    ('$$f(y) = y$$', '$$f(y) = y$$', 1),
    ('$$a_3 = 2, a_{37} = 19$$', '$$\\boxed{a_{37} = 19, \\quad a_3 = 2}$$', 1),
    ('$$(2, 2), (1, 3), (3, 3)$$', '$$\\boxed{(2, 2), (1, 3), (3, 3)}$$', 1),
    ('$$(1, +\\infty)$$', '$$(1, +\\infty)$$', 1),
    ('$$x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}$$', '$$\\boxed{x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}}$$', 1),
    ('$$(5, 8), (8, 5)$$', '$$\\boxed{(x, y) = (5, 8) \\quad \\text{and} \\quad (8, 5)}$$', 1),
    ('$$(2, 2), (6, 2)$$', '$$\\boxed{(2, 2)} \\quad \\text{and} \\quad \\boxed{(6, 2)}$$', 1),
    ('$$(98, 2), (99, 503)$$', '$$\\boxed{(98, 2)} \\quad \\text{and} \\quad \\boxed{(99, 503)}$$', 1),
    ('$$(3, 3), (1, 1)$$', '$$\\boxed{(3, 3)} \\text{ for part (a) and } \\boxed{(1, 1)}$$', 1),
    ('$$k = 45, n = 2$$', '$$\\boxed{k = 45} \\quad \\text{and} \\quad \\boxed{n = 2}$$', 1),
    ('$$|AB|=1$$', '$$1$$', 1),
    ('$$A:B=1$$', '$$1$$', 1),
    ('$$f(x)=1$$', '$$1$$', 1),
    ('$x_{1}=10^{\\frac{-5+\\sqrt{13}}{6}},\\quadx_{2}=10^{\\frac{-5-\\sqrt{13}}{6}}$', '$\\boxed{10^{\\frac{\\sqrt{13} - 5}{6}}} \\quad \\text{and} \\quad \\boxed{10^{-\\frac{5 + \\sqrt{13}}{6}}}$', 1),
    ('$y_{1}=-2 x^{2}+4 x+3, y_{2}=3 x^{2}+12 x+10$', '\\($y_1 = \\boxed{-2(x - 1)^2 + 5} \\) and \\( y_2 = \\boxed{3(x + 2)^2 - 2} \\) ', 1),
    ('$x_{1}=\\frac{1}{2}+\\frac{31\\sqrt{5}}{216},\\quadx_{2}=\\frac{1}{2}-\\frac{31\\sqrt{5}}{216}$', '$\\boxed{\\dfrac{108 + 31\\sqrt{5}}{216}} \\quad \\text{and} \\quad \\boxed{\\dfrac{108 - 31\\sqrt{5}}{216}}$', 1),
    ('$x_{1}=10^{\\frac{-5+\\sqrt{13}}{6}},\\quadx_{2}=10^{\\frac{-5-\\sqrt{13}}{6}}$', '$\\boxed{10^{\\frac{\\sqrt{13} - 5}{6}}} \\quad \\text{and} \\quad \\boxed{10^{-\\frac{5 + \\sqrt{13}}{6}}}$', 1),
    ('\\boxed{1} papers and \\boxed{2} bins', '$\\boxed{1,2}$', 1),
    ('\\boxed{1} no no no no no \\boxed{2}', '$\\boxed{1,2}$', 0),
    # tests/test_yujianll.py::test_string_extraction
    ('$n=1, 2, 3$', '$n=1, 2, 3$', 1),
    ('$n=2, 3, 4$', '$n=1, 2, 3$', 0),
    ('$D = (0, 1)$', '$D = (0, 1)$', 1),
    ('$D = (0, 1)$', '$D = (0, 1.5)$', 0),
    ('$F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}$', '$F_n = \\sum_{k=0}^{n-2} F_k F_{n-k-2}$', 0),
    ('$F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}$', '$F_n = \\sum_{k=0}^{n-1} F_{n-k-1} F_k$', 1),
]

VERL_PRIME_MATH_CASES = [
    # tests/utils/reward_score/test_sandbox_on_cpu.py: prime_math_answers / prime_math_gts (mat, frac, symbolic)
    ("""\\begin{pmatrix}\n -7 & 6 & -8 \\\\\n 11 & -9 & 12 \\\\\n 15 & -16 & 19\n \\end{pmatrix}""",
     """\\begin{bmatrix}\n -7 & 6 & -8 \\\\\n 11 & -9 & 12 \\\\\n 15 & -16 & 19 \n \\end{bmatrix}""", 1),
    ("""\\frac{\\sqrt{505}}{7}""", """\\frac{\\sqrt{505}}{7}""", 1),
    ("""(x + 2)^2 + (y - 3)^2 """, """x^2 + y^2 + 4x - 6y + 13""", 1),
]

_SCORER: list[Scorer] = []


def score(reference: str, response: str) -> tuple[float, list[str]]:
    if not _SCORER:
        _SCORER.append(Scorer({"grader": "math"}))
    event = [{"id": "s", "messages": [{"role": "assistant", "content": response}], "reference_answer": reference}]
    output = _SCORER[0].score_event(event).outputs[0]
    return output["aggregate_reward_score"], [m["name"] for m in output["metrics_list"] if m["name"].startswith("failure_")]


@pytest.mark.parametrize(("gold", "pred", "expected"), MATH_VERIFY_CASES)
def test_math_verify_cases(gold, pred, expected):
    reward, failures = score(gold, pred)
    assert "failure_invalid_reference" not in failures
    assert (reward == 1.0) == bool(expected), (reward, failures)


@pytest.mark.parametrize(("gold", "answer", "expected"), VERL_PRIME_MATH_CASES)
def test_verl_prime_math_cases(gold, answer, expected):
    reward, failures = score(gold, "The answer is \\boxed{" + answer + "}.")
    assert (reward == 1.0) == bool(expected), (reward, failures)


# --- what stays as it was ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "response", "expected"),
    [
        # An answer that is an equation with numbers on its left is a relation, not its right side.
        ("2", "\\boxed{7 = 2}", 0.0),
        # A reference equation with numbers on its left is answered only by an equation.
        ("$34x+45y-20z+100=0$", "\\boxed{0}", 0.0),
        ("$x^2+y^2=25$", "\\boxed{25}", 0.0),
        ("$x^2+y^2=25$", "\\boxed{y^2 + x^2 = 25}", 1.0),
        # A left side made of variables names the value on its right, in the response too.
        ("(3, 2)", "\\boxed{(p, q) = (3, 2)}", 1.0),
        ("$(p,q)=(3,2)$", "\\boxed{(2, 3)}", 0.0),
        ("$\\frac{NO}{BO}=\\frac{1}{\\sqrt6}$", "\\boxed{\\frac{\\sqrt{6}}{6}}", 1.0),
        ("$\\frac{NO}{BO}=\\frac{1}{\\sqrt6}$", "\\boxed{\\frac{1}{6}}", 0.0),
        # Several boxes in the reference are a set: one of its elements is not the answer.
        ("$\\boxed{1}\\boxed{2}$", "\\boxed{2}", 0.0),
        ("$\\boxed{1}\\boxed{2}$", "\\boxed{2} and \\boxed{1}", 1.0),
        ("$\\boxed{1}\\boxed{2}$", "\\boxed{1}, \\boxed{2}, \\boxed{3}", 0.0),
        # Boxes further apart in a solution are steps: the last one is the answer (as Math-Verify).
        ("We get $a = \\boxed{3}$. Then the sum of the two roots is therefore $\\boxed{7}$.", "\\boxed{7}", 1.0),
        # A matrix answer must match entry by entry, shape included.
        ("\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", "\\boxed{\\begin{pmatrix}1 & 3 \\\\ 2 & 4\\end{pmatrix}}", 0.0),
        ("\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", "\\boxed{\\begin{pmatrix}1 & 2 & 3 & 4\\end{pmatrix}}", 0.0),
    ],
)
def test_the_anti_hacking_rules_hold_for_the_new_forms(reference, response, expected):
    reward, failures = score(reference, response)
    assert reward == expected, failures


@pytest.mark.parametrize(
    "reference",
    [
        "\\begin{pmatrix}forty & two\\end{pmatrix}",  # words inside a matrix are still words
        "\\boxed{Monday} and \\boxed{Tuesday}",  # a set of words
        "\\frac{NO}{BO} = forty two",  # an equation whose right side is words
    ],
)
def test_a_reference_the_grader_cannot_read_is_still_invalid(reference):
    reward, failures = score(reference, "\\boxed{42}")
    assert reward == 0.0 and failures == ["failure_invalid_reference"]
